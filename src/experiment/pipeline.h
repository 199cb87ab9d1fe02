// The one place that knows data, model, training and outputs: one run, start to finish,
// leaving a self-describing run directory (DESIGN section 3).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/dataset.h"
#include "data/masks.h"
#include "experiment/config.h"

namespace ltrnn {

// One row of results.json / results.csv.
struct RunSummary {
  std::string id, model;
  int64_t rank = 0;  // 0 for families without a rank (full, static)
  int64_t hidden = 0, seed = 0, n_params = 0, iterations = 0;
  double train_loss = 0, test_loss = 0, test_nmse = 0, test_r2 = 0, seconds = 0;
  std::string status;  // "finished", or "failed: <reason>"
};
void to_json(nlohmann::json& j, const RunSummary& s);

// A stable run id: "<model>-r<rank>-n<hidden>-s<seed>" ("-r<rank>" only for families with a rank).
std::string run_id(const ModelConfig& model, const TrainConfig& train);

// Fits one model on a (preprocessed) dataset with the given masks and writes
// run_dir/{config.json, log.csv, checkpoint.pt, predictions.npy, factors.npz}.
// `progress` prints a progress line (on a terminal) or periodic lines (otherwise).
RunSummary execute_run(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                       const TrainConfig& train_config, const std::filesystem::path& run_dir, bool progress);

// Writes results.json ({"experiment", "runs", "best"}) and results.csv into out_dir.
void write_results(const std::filesystem::path& out_dir, const nlohmann::json& experiment,
                   const std::vector<RunSummary>& runs);

}  // namespace ltrnn
