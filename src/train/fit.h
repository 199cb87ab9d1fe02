// The training loop: Adam on the masked objective, with a replaceable termination policy.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/ltrnn_model.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/loss.h"
#include "train/termination.h"

namespace ltrnn {

// The parameters with the lowest validation loss so far (docs/design.md section 4): the
// model a fit with a validation set saves. Empty without a validation set.
struct BestIterate {
  int64_t iteration = 0;  // 0: none yet
  double validation_loss = INFINITY;
  std::vector<torch::Tensor> parameters;  // clones, in model->parameters() order
};

// What a checkpoint holds besides the model's current parameters.
struct FitProgress {
  const std::vector<IterationRecord>& history;
  torch::optim::Optimizer& optimizer;
  const BestIterate& best;
};

struct FitHooks {
  std::function<void(const IterationRecord&)> on_iteration;  // e.g. a progress line
  // Called every checkpoint_every iterations and at the end (then with the saved model in place).
  std::function<void(const FitProgress&)> on_checkpoint;
};

struct FitResult {
  std::vector<IterationRecord> history;
  StopReason stop_reason = StopReason::Iterations;
  int64_t diverged_at = 0;  // the iteration whose loss was not finite (StopReason::Diverged)
  bool diverged() const { return stop_reason == StopReason::Diverged; }
  // "converged", "plateau", "patience", "iterations", or "diverged: non-finite loss at
  // iteration N" (summary.json's stop_reason, a failed run's reason).
  std::string stop_text() const;
  // "non-finite loss at iteration N" (empty unless diverged).
  std::string divergence() const;
  double seconds = 0;
  // How many optimiser steps (Adam's, then the polish's) the parameters the model holds at
  // the end have had: those of the best validation loss, or all of them without a validation set.
  int64_t saved_steps = 0;
};

// Where a resumed fit starts: the history so far, the best iterate and the saved Adam state.
// polish_only: a fit that is the polish alone, from the parameters the model holds (a rank
// ladder start, docs/design.md section 5); with an empty history it starts the polish.
struct FitStart {
  std::vector<IterationRecord> history;
  BestIterate best;
  std::function<void(torch::optim::Optimizer&)> restore_optimizer;
  bool polish_only = false;
};

// Sets the threads of this thread's LibTorch ops and of OpenBLAS's pool (process-wide);
// a fit's numbers depend on this count.
void use_compute_threads(int threads);

// Fits `model` to `target` in place. Deterministic given the torch seed, config.seed and
// the thread count. Each iteration: simulate all trials, drop a random fraction of trials
// from the training term, add the L2 penalties, one Adam step. When Adam's schedule has
// converged or after config.polish_after iterations, the polish: full-batch L-BFGS from the
// best iterate to the iteration cap at most. With a validation set the
// model ends with the parameters of the lowest validation loss. With `start`, continues a
// checkpointed fit so that the numbers equal those of an uninterrupted one.
// With `group`, this process fits its share of the trials and every step uses the gradient
// summed over the group's processes (train/distributed.h): the same parameters in each.
FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks = {}, const FitStart* start = nullptr, TrialGroup* group = nullptr);

// The curvature pairs the polish's L-BFGS keeps for `parameter_numbers` parameters of
// `bytes_per_number` bytes: train.polish_history, but no more than two vectors per pair fit in
// 256 MiB, and never fewer than LibTorch's default 10 -- so a large model (the full family's
// K N^2 weights) keeps the memory it had with 10 pairs (docs/design.md section 4).
int64_t polish_pairs(int64_t polish_history, int64_t parameter_numbers, int64_t bytes_per_number);

// The total objective for the given trial keep-mask [K] bool (exposed for gradient tests).
torch::Tensor objective(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                        const torch::Tensor& kept_trials);

}  // namespace ltrnn
