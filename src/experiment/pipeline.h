// The one place that knows data, model, training and outputs: one run, start to finish,
// leaving a self-describing run directory (DESIGN section 3).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  double test_nmse_se = 0;  // standard error of test_nmse from the finite test set (Scores)
  std::string status;  // "finished", or "failed: <reason>"
};
void to_json(nlohmann::json& j, const RunSummary& s);

// A stable run id: "<model>-r<rank>-n<hidden>-s<seed>" ("-r<rank>" only for families with a rank).
std::string run_id(const ModelConfig& model, const TrainConfig& train);

struct RunOptions {
  bool progress = true;     // a progress line (terminal) or periodic lines (otherwise)
  bool resume = false;      // continue from run_dir/checkpoint.pt when it exists
  bool predictions = true;  // write predictions.npy
  bool factors = true;      // write factors.npz
  bool export_model = true; // write model.pt (TorchScript)
};

// Fits one model on a (preprocessed) dataset with the given masks and writes
// run_dir/{config.json, log.csv, checkpoint.pt, predictions.npy, factors.npz, summary.json}.
// summary.json is written last: its presence marks a finished (or failed) run.
RunSummary execute_run(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                       const TrainConfig& train_config, const std::filesystem::path& run_dir,
                       const RunOptions& options = {});
// The summary of a run directory whose summary.json exists, or nothing.
std::optional<RunSummary> read_run_summary(const std::filesystem::path& run_dir);

// Writes results.json ({"experiment", "runs", "best"} plus the keys of `extra`) and
// results.csv into out_dir.
void write_results(const std::filesystem::path& out_dir, const nlohmann::json& experiment,
                   const std::vector<RunSummary>& runs, const nlohmann::json& extra = nullptr);

}  // namespace ltrnn
