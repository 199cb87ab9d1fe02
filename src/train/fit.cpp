// The training loop: Adam on the masked objective (docs/design.md section 4).
#include "train/fit.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <numeric>
#include <random>

#include "train/schedule.h"
#include "util/blas.h"
#include "util/errors.h"
#include "util/interrupt.h"

namespace ltrnn {

namespace {

// The objective of docs/design.md section 4 for one iteration, and what the iteration records.
struct Evaluation {
  RnnModelImpl::Output output;
  torch::Tensor loss;       // the training objective (differentiable)
  torch::Tensor per_trial;  // [K] sum of the training entries' losses per trial (differentiable)
  torch::Tensor entries;    // [T, K, D] every entry's loss: the held-out terms read it too
};

// The trials this process simulates, and the parts of the target that are theirs: all
// trials, or one share of a distributed fit (counts and variances stay the whole data's,
// so the shares' terms add up to the whole objective).
struct TrialShare {
  int64_t begin = 0, count = 0, total = 0;
  FitTarget target;
  bool split = false;  // a share of a distributed fit
};

TrialShare share_of(const FitTarget& target, const TrialGroup* group) {
  const int64_t K = target.data.size(1);
  TrialShare share{0, K, K, target, false};
  if (!group) return share;
  const auto [begin, end] = trial_share(K, group->rank(), group->size());
  share.begin = begin;
  share.count = end - begin;
  share.split = true;
  FitTarget& t = share.target;
  for (torch::Tensor* trials_axis_1 :
       {&t.data, &t.train, &t.validation, &t.test, &t.train_weight, &t.validation_weight, &t.test_weight})
    *trials_axis_1 = trials_axis_1->narrow(1, begin, share.count).contiguous();
  t.train_count_per_trial = t.train_count_per_trial.narrow(0, begin, share.count);
  return share;
}

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

// One sum over the processes of a distributed fit per iteration: every trainable
// parameter's gradient (each process's share of it), then the terms its record needs.
struct SharedTerms {
  double loss = 0, train = 0, test = 0, validation = 0;
  bool interrupted = false;  // a process received SIGINT/SIGTERM
};

SharedTerms sum_over_processes(TrialGroup& group, const std::vector<torch::Tensor>& parameters,
                               const SharedTerms& local, int64_t iteration) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : parameters)
    parts.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}, p.options()));
  const auto dtype = parameters.front().scalar_type();
  parts.push_back(torch::tensor({local.loss, local.train, local.test, local.validation, local.interrupted ? 1.0 : 0.0},
                                torch::dtype(torch::kFloat64))
                      .to(dtype));
  torch::Tensor buffer = torch::cat(parts);
  group.sum(buffer, "the sum of the gradients of iteration " + std::to_string(iteration));
  int64_t offset = 0;
  for (const auto& p : parameters) {
    const torch::Tensor summed = buffer.narrow(0, offset, p.numel()).view(p.sizes());
    if (p.grad().defined())
      p.mutable_grad().copy_(summed);
    else
      p.mutable_grad() = summed.clone();
    offset += p.numel();
  }
  const torch::Tensor terms = buffer.narrow(0, offset, 5).to(torch::kFloat64);
  const auto* t = terms.data_ptr<double>();
  return {t[0], t[1], t[2], t[3], t[4] > 0};
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
  return evaluate(model, share_of(target, nullptr), config, kept_trials, kept_training_count(target, kept_trials), true)
      .loss;
}

FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks, const FitStart* start, TrialGroup* group) {
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
  if (group) {
    // Every process must start from the same state: the same iteration (a resume reads the
    // checkpoint rank 0 writes, so every process must see it), parameters and data.
    torch::NoGradGuard no_grad;
    double parameter_sum = 0;
    for (const auto& p : model->parameters()) parameter_sum += p.to(torch::kFloat64).sum().item<double>();
    group->require_agreement({static_cast<double>(result.history.size()), parameter_sum,
                              target.data.to(torch::kFloat64).sum().item<double>(), target.train_count,
                              target.validation_count, target.test_count},
                             "the state a distributed fit starts from (iterations done, parameter sum, data sum, "
                             "training/validation/test entries); every process must read the same data and, "
                             "with --resume, rank 0's checkpoint");
  }
  model->train();
  const TrialShare share = share_of(target, group);
  const std::vector<torch::Tensor> parameters = trainable(model);
  const bool with_input_penalty = !group || group->rank() == 0;  // a shared term: counted once
  for (int64_t iteration = static_cast<int64_t>(result.history.size()) + 1;; ++iteration) {
    // 1. Forward over this process's trials (all, or its share); the training term sees the
    //    kept trials' training entries. Every process draws the same keep mask.
    const torch::Tensor kept = sample_kept_trials(K, config.fraction_masked, rng).to(target.data.device());
    const Evaluation evaluation =
        evaluate(model, share, config, kept, kept_training_count(target, kept), with_input_penalty);
    const torch::Tensor& loss = evaluation.loss;

    // 2. Record train and test loss of the current parameters (same forward pass).
    IterationRecord record;
    record.iteration = iteration;
    double loss_value = 0;
    bool interrupted = false;
    {
      torch::NoGradGuard no_grad;
      const FitTarget& local = share.target;
      const torch::Tensor entries = evaluation.entries.detach();
      if (!group) {
        record.train_loss = evaluation.per_trial.sum().item<double>() /
                            (std::max(1.0, target.train_count) * loss_normaliser(target.loss, target.train_variance));
        record.test_loss = held_out_term(target, entries, target.test_weight, target.test_count, target.test_variance);
        if (target.has_validation())
          record.validation_loss = held_out_term(target, entries, target.validation_weight, target.validation_count,
                                                 target.validation_variance);
        loss_value = loss.item<double>();
      } else {
        // A distributed fit: the gradient of this share first, then one sum of the
        // gradients and of the terms over the processes (docs/design.md section 9).
        SharedTerms terms;
        terms.loss = loss.item<double>();
        terms.train = evaluation.per_trial.sum().item<double>();
        terms.test = (entries * local.test_weight).sum().item<double>();
        terms.validation = (entries * local.validation_weight).sum().item<double>();
        terms.interrupted = interrupt_signal() != 0;
        {
          torch::AutoGradMode enable_grad(true);
          optimizer.zero_grad();
          loss.backward();
        }
        terms = sum_over_processes(*group, parameters, terms, iteration);
        const auto normalised = [&](double sum, double count, double variance) {
          return sum / (std::max(1.0, count) * loss_normaliser(target.loss, variance));
        };
        record.train_loss = normalised(terms.train, target.train_count, target.train_variance);
        record.test_loss = normalised(terms.test, target.test_count, target.test_variance);
        if (target.has_validation())
          record.validation_loss = normalised(terms.validation, target.validation_count, target.validation_variance);
        loss_value = terms.loss;
        interrupted = terms.interrupted;
      }
    }
    // The monitored loss (validation when there is a validation set) must be finite.
    const double monitored = target.has_validation() ? record.validation_loss : record.test_loss;
    if (!std::isfinite(loss_value) || !std::isfinite(monitored)) {
      result.diverged = true;
      result.stop_reason = "diverged: non-finite loss at iteration " + std::to_string(iteration);
      break;
    }

    // 3. The parameters before the step are those the record describes; then one Adam step.
    if (target.has_validation()) remember_if_best(model, record, best);
    if (!group) {
      optimizer.zero_grad();
      loss.backward();
    }
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
    // A distributed fit stops where the processes agreed (the flag in the last sum).
    if (group ? interrupted : interrupt_signal() != 0) {
      // SIGINT/SIGTERM: stop at this iteration boundary with a checkpoint of every step so
      // far, so that a resumed fit continues exactly here (docs/design.md section 7).
      if (hooks.on_checkpoint && iteration % config.checkpoint_every != 0)
        hooks.on_checkpoint(FitProgress{result.history, optimizer, best});
      const std::string saved = hooks.on_checkpoint ? ", checkpoint saved" : "";
      throw_if_interrupted("interrupted at iteration " + std::to_string(iteration) + saved);
      throw Interrupted("another process of the distributed fit was interrupted; stopped at iteration " +
                            std::to_string(iteration) + saved,
                        SIGTERM);
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
