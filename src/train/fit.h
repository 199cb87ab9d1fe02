// The training loop: Adam on the masked objective, with a replaceable termination policy.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "model/ltrnn_model.h"
#include "train/loss.h"

namespace ltrnn {

struct IterationRecord {
  int64_t iteration = 0;  // 1-based
  double train_loss = 0;  // data term on all training entries (normalised MSE, or Poisson NLL)
  double test_loss = 0;   // data term on the test entries (normalised by the test variance)
  double seconds = 0;     // wall time since the start of the fit
};

// Decides after each iteration whether to stop; returns the reason, or nothing to go on.
class Termination {
 public:
  virtual ~Termination() = default;
  virtual std::optional<std::string> should_stop(const std::vector<IterationRecord>& history) = 0;
};

// The reference rule: stop when std(test loss over the last `window` iterations) <
// threshold; optionally after `patience` iterations without a new best; and at the cap.
class PlateauTermination : public Termination {
 public:
  explicit PlateauTermination(const TrainConfig& config) : config_(config) {}
  std::optional<std::string> should_stop(const std::vector<IterationRecord>& history) override;

 private:
  TrainConfig config_;
};

struct FitHooks {
  std::function<void(const IterationRecord&)> on_iteration;  // e.g. a progress line
  // Called every checkpoint_every iterations and at the end, with the history so far.
  std::function<void(const std::vector<IterationRecord>&, torch::optim::Optimizer&)> on_checkpoint;
};

struct FitResult {
  std::vector<IterationRecord> history;
  std::string stop_reason;  // "plateau", "patience", "iterations", "diverged: ..."
  bool diverged = false;
  double seconds = 0;
};

// Where a resumed fit starts: the history so far and the saved Adam state.
struct FitStart {
  std::vector<IterationRecord> history;
  std::function<void(torch::optim::Optimizer&)> restore_optimizer;
};

// Fits `model` to `target` in place. Deterministic given the torch seed, config.seed and
// the thread count. Each iteration: simulate all trials, drop a random fraction of trials
// from the training term, add the L2 penalties, one Adam step. With `start`, continues a
// checkpointed fit so that the numbers equal those of an uninterrupted one.
FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks = {}, const FitStart* start = nullptr);

// The total objective for the given trial keep-mask [K] bool (exposed for gradient tests).
torch::Tensor objective(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                        const torch::Tensor& kept_trials);

// A checkpoint: model parameters and buffers, Adam state, the history (exact, for the
// plateau rule on resume), and the model config.
void save_checkpoint(const std::filesystem::path& path, RnnModel& model, torch::optim::Optimizer* optimizer,
                     const std::vector<IterationRecord>& history);
// Loads a checkpoint into a model built with the same config; returns the history and a
// function that restores the Adam state into a new optimizer.
FitStart load_checkpoint(const std::filesystem::path& path, RnnModel& model);
// Rebuilds the fitted model from a checkpoint alone: its config and trial structure are
// stored in it (a run directory describes itself). Throws InputError naming the file.
RnnModel model_from_checkpoint(const std::filesystem::path& path);

}  // namespace ltrnn
