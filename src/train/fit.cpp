// The training loop: Adam on the masked objective, then the L-BFGS polish (docs/design.md
// section 4). The loop's two phases share one FitLoop: its record, best iterate, reducer
// (one process or a distributed group: train/fit_reducers.h), checkpoints and resume rules.
#include "train/fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <numeric>
#include <random>

#include "train/fit_reducers.h"
#include "train/schedule.h"
#include "util/blas.h"
#include "util/errors.h"
#include "util/interrupt.h"

namespace ltrnn {

namespace {
using namespace fit_detail;

// The polish's L-BFGS: line-search evaluations per iteration (the curvature pairs it keeps
// are train.polish_history).
constexpr int64_t kLineSearchEvaluations = 25;
// What the pairs may take beyond LibTorch's default 10 (polish_pairs).
constexpr double kPolishHistoryBytes = 256.0 * 1024 * 1024;
constexpr int64_t kFewestPolishPairs = 10;

// The objective of docs/design.md section 4 for one iteration, and what the iteration records.
struct Evaluation {
  RnnModelImpl::Output output;
  torch::Tensor loss;       // the training objective (differentiable)
  torch::Tensor per_trial;  // [K] sum of the training entries' losses per trial (differentiable)
  torch::Tensor entries;    // [T, K, D] every entry's loss: the held-out terms read it too
};

Evaluation evaluate(RnnModel& model, const TrialShare& share, const TrainConfig& config,
                    const torch::Tensor& kept_trials, double kept_count, bool with_input_penalty) {
  const FitTarget& target = share.target;
  Evaluation e{model->simulate(torch::arange(share.begin, share.begin + share.count, torch::kInt64)), {}, {}, {}};
  // The kept trials' training entries: per-trial sums, then a dot product with the keep mask.
  e.entries = entry_losses(target.loss, e.output.linear, target.data);
  e.per_trial = (e.entries * target.train_weight).sum(torch::IntArrayRef{0, 2});
  const torch::Tensor kept = kept_trials.narrow(0, share.begin, share.count).to(e.per_trial.scalar_type());
  e.loss = e.per_trial.dot(kept) / (kept_count * loss_normaliser(target.loss, target.train_variance));
  if (config.l2_hidden > 0) {
    // The mean over every trial's hidden activity: a share adds its part of the sum.
    const torch::Tensor& h = e.output.hidden;
    e.loss = e.loss + config.l2_hidden *
                          (share.split ? h.square().sum() / static_cast<double>(h.size(0) * share.total * h.size(2))
                                       : h.square().mean());
  }
  if (config.l2_inputs > 0 && with_input_penalty) e.loss = e.loss + config.l2_inputs * model->input_penalty();
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

int64_t parameter_numbers(const std::vector<torch::Tensor>& parameters) {
  int64_t count = 0;
  for (const torch::Tensor& p : parameters) count += p.numel();
  return count;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> copies;
  for (const auto& t : tensors) copies.push_back(t.detach().clone());
  return copies;
}

void copy_into(const std::vector<torch::Tensor>& destination, const std::vector<torch::Tensor>& source) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < destination.size(); ++i) destination[i].copy_(source.at(i));
}

bool all_finite(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors)
    if (!torch::isfinite(t).all().item<bool>()) return false;
  return true;
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

// The training entries of the kept trials (at least 1): what the training term divides by.
double kept_training_count(const FitTarget& target, const torch::Tensor& kept_trials) {
  return std::max(1.0, (target.train_count_per_trial * kept_trials).sum().item<double>());
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

// One fit, iteration by iteration (docs/design.md section 4): forward, the gradient, the
// reducer's sums, the record, one Adam step, the schedule and the stopping rule.
class FitLoop {
 public:
  FitLoop(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
          const FitHooks& hooks, Reducer& reducer)
      : model_(model),
        target_(target),
        config_(config),
        termination_(termination),
        hooks_(hooks),
        reducer_(reducer),
        rng_(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ull + 1),
        optimizer_(trainable(model), torch::optim::AdamOptions(config.learning_rate)),
        schedule_(config.schedule_options()) {}

  FitResult run(const FitStart* start) {
    const Phase phase = start ? resume(*start) : Phase::Adam;
    if (phase == Phase::Done) return finish();
    reducer_.agree_on_start(model_, target_, result_.history.size());
    model_->train();
    const TrialShare share = reducer_.share(target_);
    const std::vector<torch::Tensor> parameters = trainable(model_);
    if (phase == Phase::Adam) {
      for (int64_t iteration = static_cast<int64_t>(result_.history.size()) + 1;; ++iteration)
        if (const std::optional<StopReason> stop = step(iteration, share, parameters)) {
          result_.stop_reason = *stop;
          break;
        }
      if (result_.diverged()) {
        // A diverged fit keeps its last good checkpoint rather than saving non-finite parameters.
        result_.seconds = elapsed();
        return result_;
      }
      if (!polishes_after(result_.stop_reason)) return finish();
    }
    polish(share, parameters);
    return finish();
  }

 private:
  double elapsed() const {
    return seconds_before_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start_).count();
  }

  // Where a fit goes on from: Adam's loop, the polish, or nowhere (it has stopped).
  enum class Phase { Adam, Polish, Done };

  // Adam stops for the polish when its schedule has converged, or with `Iterations` when it
  // has used its polish_after steps; the polish then runs while the cap leaves room.
  bool polishes_after(StopReason adam_stop) const {
    const bool room = static_cast<int64_t>(result_.history.size()) < config_.iterations;
    return config_.polish_after > 0 && room &&
           (adam_stop == StopReason::Converged || adam_stop == StopReason::Iterations);
  }
  bool adam_budget_spent(int64_t iteration) const {
    return config_.polish_after > 0 && iteration >= config_.polish_after;
  }

  // A resumed fit: the saved history, best iterate and Adam state; the dropout draws made so
  // far replayed. A polish is never checkpointed part-way (its L-BFGS state is not saved):
  // a history with polish records is a finished fit, and one whose Adam phase has converged
  // polishes again from the same best iterate, as the uninterrupted fit did.
  Phase resume(const FitStart& start) {
    seconds_before_ = start.history.empty() ? 0.0 : start.history.back().seconds;
    result_.history = start.history;
    best_ = start.best;
    if (start.restore_optimizer) start.restore_optimizer(optimizer_);
    const int64_t K = target_.data.size(1);
    for (std::size_t i = 0; i < result_.history.size(); ++i) sample_kept_trials(K, config_.fraction_masked, rng_);
    if (!result_.history.empty() && result_.history.back().polish) {
      result_.stop_reason = static_cast<int64_t>(result_.history.size()) >= config_.iterations ? StopReason::Iterations
                                                                                               : StopReason::Converged;
      return Phase::Done;
    }
    if (start.polish_only) return Phase::Polish;
    // The schedule's state is a function of the history: replay it, and the step size follows.
    const bool converged = schedule_.replay(result_.history) == LearningRateSchedule::Action::Converged;
    set_learning_rate(optimizer_, config_.learning_rate * schedule_.scale());
    if (converged) {
      result_.stop_reason = StopReason::Converged;
      return polishes_after(StopReason::Converged) ? Phase::Polish : Phase::Done;
    }
    if (result_.history.empty()) return Phase::Adam;
    // The same order of tests as the last Adam step made (step()).
    if (adam_budget_spent(result_.history.back().iteration)) {
      result_.stop_reason = StopReason::Iterations;
      return polishes_after(StopReason::Iterations) ? Phase::Polish : Phase::Done;
    }
    const std::optional<StopReason> reason = termination_.should_stop(result_.history);
    if (reason) result_.stop_reason = *reason;
    return reason ? Phase::Done : Phase::Adam;
  }

  // The record of an iteration from the summed terms: each data term normalised by the
  // whole data's entries and variance.
  IterationRecord record_of(int64_t iteration, const IterationTerms& terms) const {
    const auto normalised = [&](double sum, double count, double variance) {
      return sum / (std::max(1.0, count) * loss_normaliser(target_.loss, variance));
    };
    IterationRecord record;
    record.iteration = iteration;
    record.train_loss = normalised(terms.train, target_.train_count, target_.train_variance);
    record.test_loss = normalised(terms.test, target_.test_count, target_.test_variance);
    if (target_.has_validation())
      record.validation_loss = normalised(terms.validation, target_.validation_count, target_.validation_variance);
    return record;
  }

  // Forward over this process's trials (every process draws the same keep mask), the
  // gradient of its share, then the reducer's sums of gradients and terms.
  IterationTerms forward_and_backward(int64_t iteration, const TrialShare& share,
                                      const std::vector<torch::Tensor>& parameters, const torch::Tensor& kept) {
    const Evaluation evaluation =
        evaluate(model_, share, config_, kept, kept_training_count(target_, kept), reducer_.counts_shared_terms());
    IterationTerms terms;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor entries = evaluation.entries.detach();
      terms.loss = evaluation.loss.item<double>();
      terms.train = evaluation.per_trial.sum().item<double>();
      terms.test = (entries * share.target.test_weight).sum().item<double>();
      if (target_.has_validation()) terms.validation = (entries * share.target.validation_weight).sum().item<double>();
      terms.interrupted = interrupt_signal() != 0;
    }
    optimizer_.zero_grad();
    evaluation.loss.backward();
    return reducer_.sum(parameters, terms, iteration);
  }

  // One iteration; the reason to stop after it, if any.
  std::optional<StopReason> step(int64_t iteration, const TrialShare& share,
                                 const std::vector<torch::Tensor>& parameters) {
    const int64_t K = target_.data.size(1);
    const torch::Tensor kept = sample_kept_trials(K, config_.fraction_masked, rng_).to(target_.data.device());
    const IterationTerms terms = forward_and_backward(iteration, share, parameters, kept);
    IterationRecord record = record_of(iteration, terms);
    // The monitored loss (validation when there is a validation set) must be finite.
    const double monitored = target_.has_validation() ? record.validation_loss : record.test_loss;
    if (!std::isfinite(terms.loss) || !std::isfinite(monitored)) {
      result_.diverged_at = iteration;
      return StopReason::Diverged;
    }
    // The parameters before the step are those the record describes; then one Adam step.
    if (target_.has_validation()) remember_if_best(model_, record, best_);
    optimizer_.step();
    record.seconds = elapsed();
    result_.history.push_back(record);
    // The schedule: on a plateau, a smaller step from the best iterate (the noise of the
    // larger steps is left behind), or the end of the fit when the plateau persists.
    const LearningRateSchedule::Action action = schedule_.observe(monitored);
    if (action == LearningRateSchedule::Action::Reduce) {
      set_learning_rate(optimizer_, config_.learning_rate * schedule_.scale());
      if (best_.iteration > 0) restore(model_, best_);
    }
    if (hooks_.on_iteration) hooks_.on_iteration(record);
    if (hooks_.on_checkpoint && iteration % config_.checkpoint_every == 0) checkpoint();
    if (action == LearningRateSchedule::Action::Converged) return StopReason::Converged;
    if (adam_budget_spent(iteration)) return StopReason::Iterations;  // the polish goes on (polishes_after)
    if (const std::optional<StopReason> reason = termination_.should_stop(result_.history)) return reason;
    if (reducer_.interrupted(terms)) stop_for_interrupt(iteration);
    return std::nullopt;
  }

  void checkpoint() { hooks_.on_checkpoint(FitProgress{result_.history, optimizer_, best_}); }

  // The polish (docs/design.md section 4): from Adam's best iterate, full-batch L-BFGS with a
  // strong Wolfe line search on the whole training objective (every trial kept), until the
  // monitored loss has gone polish_patience iterations without a relative improvement of
  // polish_tolerance (converged) or the iteration cap. Adam's steps end at
  // a noise floor set by its step size and the trial dropout, at a different distance from
  // the optimum for every rank; the polish takes each to its own optimum, deterministically.
  void polish(const TrialShare& share, const std::vector<torch::Tensor>& parameters) {
    if (best_.iteration > 0) restore(model_, best_);
    // What a resume restarts the polish from (the polish itself is not checkpointed).
    if (hooks_.on_checkpoint) checkpoint();
    torch::optim::LBFGS lbfgs(
        parameters, torch::optim::LBFGSOptions(1.0)
                        .max_iter(1)
                        .max_eval(kLineSearchEvaluations)
                        .history_size(polish_pairs(config_.polish_history, parameter_numbers(parameters),
                                                   parameters.empty() ? 4 : parameters.front().element_size()))
                        .tolerance_grad(0)
                        .tolerance_change(0)
                        .line_search_fn("strong_wolfe"));
    LearningRateSchedule plateau(config_.polish_options());
    std::vector<torch::Tensor> last_good = clones(parameters);
    const torch::Tensor all_trials =
        torch::ones({target_.data.size(1)}, torch::dtype(torch::kBool).device(target_.data.device()));
    while (static_cast<int64_t>(result_.history.size()) < config_.iterations) {
      const int64_t iteration = static_cast<int64_t>(result_.history.size()) + 1;
      // The record describes the parameters before the step: the line search's first evaluation.
      std::optional<IterationTerms> first;
      std::optional<IterationRecord> record;
      const auto closure = [&] {
        const IterationTerms terms = forward_and_backward(iteration, share, parameters, all_trials);
        if (!first) {
          first = terms;
          record = record_of(iteration, terms);
          record->polish = true;
          if (std::isfinite(terms.loss) && std::isfinite(monitored_loss(*record))) {
            last_good = clones(parameters);
            if (target_.has_validation()) remember_if_best(model_, *record, best_);
          }
        }
        return torch::tensor(std::isfinite(terms.loss) ? terms.loss : INFINITY, torch::kFloat64);
      };
      lbfgs.step(closure);
      // A non-finite loss, or a line search that left the finite numbers, ends the polish at
      // the last finite iterate (finish() then restores the best one); the fit keeps the
      // converged Adam phase's stop reason.
      if (!std::isfinite(first->loss) || !std::isfinite(monitored_loss(*record)) || !all_finite(parameters)) {
        copy_into(parameters, last_good);
        return;
      }
      record->seconds = elapsed();
      result_.history.push_back(*record);
      if (hooks_.on_iteration) hooks_.on_iteration(*record);
      if (plateau.observe(monitored_loss(*record)) == LearningRateSchedule::Action::Converged) {
        result_.stop_reason = StopReason::Converged;
        return;
      }
      if (reducer_.interrupted(*first)) stop_for_interrupt(iteration, /*checkpoint_now=*/false);
    }
    result_.stop_reason = StopReason::Iterations;
  }

  // SIGINT/SIGTERM: stop at this iteration boundary with a checkpoint of every step so far,
  // so that a resumed fit continues exactly here (docs/design.md section 7).
  [[noreturn]] void stop_for_interrupt(int64_t iteration, bool checkpoint_now = true) {
    if (checkpoint_now && hooks_.on_checkpoint && iteration % config_.checkpoint_every != 0) checkpoint();
    const std::string saved =
        hooks_.on_checkpoint ? (checkpoint_now ? ", checkpoint saved" : ", the checkpoint before the polish kept") : "";
    throw_if_interrupted("interrupted at iteration " + std::to_string(iteration) + saved);
    throw Interrupted("another process of the distributed fit was interrupted; stopped at iteration " +
                          std::to_string(iteration) + saved,
                      SIGTERM);
  }

  // The end of a fit that did not diverge: the saved model is the best iterate on the
  // validation loss (early stopping's choice, docs/design.md section 4), else the last
  // parameters; then the final checkpoint. Also on a resume that stops at once, whose
  // checkpoint may predate the restore (killed between the two writes).
  FitResult finish() {
    result_.seconds = elapsed();
    if (best_.iteration > 0) restore(model_, best_);
    // The record of iteration i describes the parameters after i - 1 steps.
    result_.saved_steps = best_.iteration > 0 ? best_.iteration - 1 : static_cast<int64_t>(result_.history.size());
    if (hooks_.on_checkpoint) checkpoint();
    return result_;
  }

  RnnModel& model_;
  const FitTarget& target_;
  const TrainConfig& config_;
  Termination& termination_;
  const FitHooks& hooks_;
  Reducer& reducer_;
  std::mt19937_64 rng_;
  torch::optim::Adam optimizer_;
  LearningRateSchedule schedule_;
  FitResult result_;
  BestIterate best_;
  const std::chrono::steady_clock::time_point clock_start_ = std::chrono::steady_clock::now();
  double seconds_before_ = 0;
};

}  // namespace

std::string FitResult::divergence() const {
  return diverged() ? "non-finite loss at iteration " + std::to_string(diverged_at) : "";
}

std::string FitResult::stop_text() const { return diverged() ? "diverged: " + divergence() : enum_name(stop_reason); }

void use_compute_threads(int threads) {
  torch::set_num_threads(threads);
  set_blas_threads(threads);
}

torch::Tensor objective(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                        const torch::Tensor& kept_trials) {
  return evaluate(model, share_of(target, nullptr), config, kept_trials, kept_training_count(target, kept_trials), true)
      .loss;
}

int64_t polish_pairs(int64_t polish_history, int64_t parameter_numbers, int64_t bytes_per_number) {
  const double pair_bytes = 2.0 * static_cast<double>(std::max<int64_t>(parameter_numbers, 1)) *
                            static_cast<double>(std::max<int64_t>(bytes_per_number, 1));
  const auto fitting = static_cast<int64_t>(kPolishHistoryBytes / pair_bytes);
  return std::min(polish_history, std::max(kFewestPolishPairs, fitting));
}

FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks, const FitStart* start, TrialGroup* group) {
  SingleProcess alone;
  std::optional<GroupReducer> together;
  if (group) together.emplace(*group);
  Reducer& reducer = group ? static_cast<Reducer&>(*together) : alone;
  return FitLoop(model, target, config, termination, hooks, reducer).run(start);
}

}  // namespace ltrnn
