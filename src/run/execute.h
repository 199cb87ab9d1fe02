// The one place that knows data, model, training and outputs: one run, start to finish,
// leaving a self-describing run directory (docs/design.md section 7).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/masks.h"
#include "model/config.h"
#include "run/record.h"
#include "train/config.h"
#include "train/distributed.h"

namespace ltrnn {

// A stable run id: "<model>-r<rank>-n<hidden>-s<seed>" ("-r<rank>" only for families with a rank).
std::string run_id(const ModelConfig& model, const TrainConfig& train);
// The record of a run before it ran: id, model, rank, hidden size and seed filled in.
RunRecord planned_record(const ModelConfig& model, const TrainConfig& train);

// The rows of a fitted readout that a refit's neurons are (one session's, or all).
struct ReadoutSpan {
  int64_t first_neuron = 0, neurons = 0;
  std::string description;  // how messages name them ("the readout of session day1.npz")
};

// A refit (model/refit.h, docs/design.md section 7): the fitted run's checkpoint the new
// trials' model starts from, its latent network frozen, and the readout rows the new neurons
// are (none: a new readout, fitted).
struct RefitSource {
  std::filesystem::path checkpoint;
  std::optional<ReadoutSpan> readout;
};

struct RunOptions {
  bool progress = true;      // a progress line (terminal) or periodic lines (otherwise)
  bool resume = false;       // continue from run_dir/checkpoint.pt when it exists
  bool predictions = true;   // write predictions.npy
  bool factors = true;       // write factors.npz
  bool export_model = true;  // write model.pt (TorchScript)
  // A distributed fit (train/distributed.h): every process fits its share; rank 0 alone
  // writes the run directory, the others write nothing and return the bare record.
  TrialGroup* distributed = nullptr;
  // A start of the rank ladder (docs/design.md section 5): the run directory of the fit of a
  // neighbouring rank it starts from, with components added or removed
  // (model/components.h); the fit is then the polish alone, without a tau pilot.
  std::optional<std::filesystem::path> ladder_source;
  RunStart start = RunStart::Seed;  // recorded: up or down with ladder_source
  // The run's id in its records (summary.json, config.json); empty: run_id(model, train).
  // A plan's ids differ from it for a rank-ladder start and a group planned twice.
  std::string id;
  // A refit: only the new trials' own parameters are fitted (no tau pilot).
  std::optional<RefitSource> refit;
};

// Fits one model on a (preprocessed) dataset with the given masks and writes
// run_dir/{config.json, log.csv, checkpoint.pt, predictions.npy, factors.npz, summary.json}.
// summary.json is written last: its presence marks a finished (or failed) run.
RunRecord execute_run(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                      const TrainConfig& train_config, const std::filesystem::path& run_dir,
                      const RunOptions& options = {});

}  // namespace ltrnn
