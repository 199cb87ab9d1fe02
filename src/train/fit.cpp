// The training loop: Adam on the masked objective (docs/design.md section 4).
#include "train/fit.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "train/schedule.h"
#include "util/blas.h"
#include "util/interrupt.h"

namespace ltrnn {

namespace {

// The objective of docs/design.md section 4 for one iteration, and what the iteration records.
struct Evaluation {
  RnnModelImpl::Output output;
  torch::Tensor loss;       // the training objective (differentiable)
  torch::Tensor per_trial;  // [K] sum of the training entries' losses per trial (differentiable)
};

Evaluation evaluate(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                    const torch::Tensor& kept_trials) {
  const int64_t K = target.data.size(1);
  Evaluation e{model->simulate(torch::arange(K, torch::kInt64)), {}, {}};
  // The kept trials' training entries: per-trial sums, then a dot product with the keep mask.
  const torch::Tensor entries = entry_losses(target.loss, e.output.linear, target.data);
  e.per_trial = (entries * target.train_weight).sum(torch::IntArrayRef{0, 2});
  const torch::Tensor kept = kept_trials.to(e.per_trial.scalar_type());
  const double kept_count = std::max(1.0, (target.train_count_per_trial * kept_trials).sum().item<double>());
  e.loss = e.per_trial.dot(kept) / (kept_count * loss_normaliser(target.loss, target.train_variance));
  if (config.l2_hidden > 0) e.loss = e.loss + config.l2_hidden * e.output.hidden.square().mean();
  if (config.l2_inputs > 0) e.loss = e.loss + config.l2_inputs * model->input_penalty();
  return e;
}

// Keeps a copy of the parameters when the validation loss of `record` (computed before this
// iteration's step) is the lowest so far.
void remember_if_best(RnnModel& model, const IterationRecord& record, BestIterate& best) {
  if (!(record.validation_loss < best.validation_loss)) return;
  torch::NoGradGuard no_grad;
  best.iteration = record.iteration;
  best.validation_loss = record.validation_loss;
  best.parameters.clear();
  for (const auto& p : model->parameters()) best.parameters.push_back(p.detach().clone());
}

void restore(RnnModel& model, const BestIterate& best) {
  torch::NoGradGuard no_grad;
  const auto parameters = model->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(best.parameters.at(i));
}

double held_out_term(const FitTarget& target, const torch::Tensor& entries, const torch::Tensor& weight, double count,
                     double variance) {
  return (entries * weight).sum().item<double>() / (std::max(1.0, count) * loss_normaliser(target.loss, variance));
}

void set_learning_rate(torch::optim::Adam& optimizer, double rate) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(rate);
}

std::vector<torch::Tensor> trainable(RnnModel& model) {
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  return params;
}

// Random trial dropout (docs/design.md section 4, fraction_masked): keep each trial with
// probability 1 - fraction, but never drop every trial.
torch::Tensor sample_kept_trials(int64_t K, double fraction, std::mt19937_64& rng) {
  std::vector<uint8_t> keep(K);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto& k : keep) k = uniform(rng) >= fraction;
  if (std::accumulate(keep.begin(), keep.end(), 0) == 0) keep[0] = 1;
  return torch::from_blob(keep.data(), {K}, torch::kUInt8).to(torch::kBool);
}

}  // namespace

void use_compute_threads(int threads) {
  torch::set_num_threads(threads);
  set_blas_threads(threads);
}

torch::Tensor objective(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                        const torch::Tensor& kept_trials) {
  return evaluate(model, target, config, kept_trials).loss;
}

FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks, const FitStart* start) {
  const auto clock_start = std::chrono::steady_clock::now();
  const double seconds_before = start && !start->history.empty() ? start->history.back().seconds : 0.0;
  const auto elapsed = [&] {
    return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count();
  };
  const int64_t K = target.data.size(1);
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ull + 1);
  torch::optim::Adam optimizer(trainable(model), torch::optim::AdamOptions(config.learning_rate));
  FitResult result;
  BestIterate best;
  LearningRateSchedule schedule(config.schedule_options());
  // The end of a fit that did not diverge: the saved model is the best iterate on the
  // validation loss (early stopping's choice, docs/design.md section 4), else the last
  // parameters; then the final checkpoint. Also on a resume that stops at once, whose
  // checkpoint may predate the restore (killed between the two writes).
  const auto finish = [&] {
    result.seconds = elapsed();
    if (best.iteration > 0) restore(model, best);
    // The record of iteration i describes the parameters after i - 1 steps.
    result.saved_steps = best.iteration > 0 ? best.iteration - 1 : static_cast<int64_t>(result.history.size());
    if (hooks.on_checkpoint) hooks.on_checkpoint(FitProgress{result.history, optimizer, best});
  };
  if (start) {
    // Resume: the saved history, best iterate and Adam state; replay the dropout draws made so far.
    result.history = start->history;
    best = start->best;
    if (start->restore_optimizer) start->restore_optimizer(optimizer);
    for (std::size_t i = 0; i < result.history.size(); ++i) sample_kept_trials(K, config.fraction_masked, rng);
    // The schedule's state is a function of the history: replay it, and the step size follows.
    const bool converged = schedule.replay(result.history) == LearningRateSchedule::Action::Converged;
    set_learning_rate(optimizer, config.learning_rate * schedule.scale());
    if (converged) {
      result.stop_reason = "converged";
      finish();
      return result;
    }
    if (!result.history.empty()) {
      if (auto reason = termination.should_stop(result.history)) {
        result.stop_reason = *reason;
        finish();
        return result;
      }
    }
  }
  model->train();
  for (int64_t iteration = static_cast<int64_t>(result.history.size()) + 1;; ++iteration) {
    // 1. Forward over all trials; the training term sees the kept trials' training entries.
    const torch::Tensor kept = sample_kept_trials(K, config.fraction_masked, rng);
    const Evaluation evaluation = evaluate(model, target, config, kept);
    const torch::Tensor& loss = evaluation.loss;

    // 2. Record train and test loss of the current parameters (same forward pass).
    IterationRecord record;
    record.iteration = iteration;
    {
      torch::NoGradGuard no_grad;
      record.train_loss = evaluation.per_trial.sum().item<double>() /
                          (std::max(1.0, target.train_count) * loss_normaliser(target.loss, target.train_variance));
      const torch::Tensor entries = entry_losses(target.loss, evaluation.output.linear.detach(), target.data);
      record.test_loss = held_out_term(target, entries, target.test_weight, target.test_count, target.test_variance);
      if (target.has_validation())
        record.validation_loss = held_out_term(target, entries, target.validation_weight, target.validation_count,
                                               target.validation_variance);
    }
    const double loss_value = loss.item<double>();
    // The monitored loss (validation when there is a validation set) must be finite.
    const double monitored = target.has_validation() ? record.validation_loss : record.test_loss;
    if (!std::isfinite(loss_value) || !std::isfinite(monitored)) {
      result.diverged = true;
      result.stop_reason = "diverged: non-finite loss at iteration " + std::to_string(iteration);
      break;
    }

    // 3. The parameters before the step are those the record describes; then one Adam step.
    if (target.has_validation()) remember_if_best(model, record, best);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();

    record.seconds = elapsed();
    result.history.push_back(record);
    // 4. The schedule: on a plateau, a smaller step from the best iterate (the noise of the
    // larger steps is left behind), or the end of the fit when the plateau persists.
    const LearningRateSchedule::Action action = schedule.observe(monitored);
    if (action == LearningRateSchedule::Action::Reduce) {
      set_learning_rate(optimizer, config.learning_rate * schedule.scale());
      if (best.iteration > 0) restore(model, best);
    }
    if (hooks.on_iteration) hooks.on_iteration(record);
    if (hooks.on_checkpoint && iteration % config.checkpoint_every == 0)
      hooks.on_checkpoint(FitProgress{result.history, optimizer, best});
    if (action == LearningRateSchedule::Action::Converged) {
      result.stop_reason = "converged";
      break;
    }
    if (auto reason = termination.should_stop(result.history)) {
      result.stop_reason = *reason;
      break;
    }
    if (interrupt_signal() != 0) {
      // SIGINT/SIGTERM: stop at this iteration boundary with a checkpoint of every step so
      // far, so that a resumed fit continues exactly here (docs/design.md section 7).
      if (hooks.on_checkpoint && iteration % config.checkpoint_every != 0)
        hooks.on_checkpoint(FitProgress{result.history, optimizer, best});
      throw_if_interrupted("interrupted at iteration " + std::to_string(iteration));
    }
  }
  // A diverged fit keeps its last good checkpoint rather than saving non-finite parameters.
  if (result.diverged) {
    result.seconds = elapsed();
    return result;
  }
  finish();
  return result;
}

}  // namespace ltrnn
