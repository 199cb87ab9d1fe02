// Training: termination rules, determinism, masked entries not influencing the fit,
// checkpoints, and recovery of a planted rank-2 teacher.
#include "train/fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "data/masks.h"
#include "model/test_models.h"
#include "scratch_directory.h"
#include "sim/teacher.h"
#include "train/checkpoint.h"
#include "train/schedule.h"
#include "util/errors.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using testing::tiny_config;
using testing::tiny_dataset;

std::vector<IterationRecord> history_of(const std::vector<double>& test_losses) {
  std::vector<IterationRecord> h;
  for (std::size_t i = 0; i < test_losses.size(); ++i)
    h.push_back({static_cast<int64_t>(i + 1), 0.0, test_losses[i], 0.0});
  return h;
}

// A history whose validation losses are `validation` and whose test losses fall steadily.
std::vector<IterationRecord> validated_history(const std::vector<double>& validation) {
  std::vector<IterationRecord> h;
  for (std::size_t i = 0; i < validation.size(); ++i)
    h.push_back({static_cast<int64_t>(i + 1), 0.0, 1.0 - 0.1 * i, 0.0, validation[i]});
  return h;
}

TEST(PlateauTermination, WatchesTheValidationLossWhenThereIsOne) {
  TrainConfig config;
  config.iterations = 100;
  config.plateau_window = 0;
  config.patience = 3;
  PlateauTermination patient(config.plateau_options());
  // The test loss keeps falling; the validation loss has not improved for 3 iterations.
  EXPECT_EQ(patient.should_stop(validated_history({1.0, 0.5, 0.6, 0.7, 0.8})), StopReason::Patience);
  EXPECT_FALSE(patient.should_stop(history_of({1.0, 0.5, 0.4, 0.3, 0.2})));
  config.patience = 0;
  config.plateau_window = 4;
  config.plateau_threshold = 1e-3;
  PlateauTermination plateau(config.plateau_options());
  EXPECT_EQ(plateau.should_stop(validated_history({1.0, 0.5, 0.5001, 0.5, 0.5})), StopReason::Plateau);
}

TEST(PlateauTermination, StopsOnPlateauPatienceAndCap) {
  TrainConfig config;
  config.iterations = 100;
  config.plateau_window = 5;
  config.plateau_threshold = 1e-3;
  PlateauTermination rule(config.plateau_options());
  EXPECT_FALSE(rule.should_stop(history_of({1.0, 0.9, 0.8, 0.7, 0.6})));
  EXPECT_EQ(rule.should_stop(history_of({1.0, 0.5, 0.5001, 0.5, 0.4999, 0.5})), StopReason::Plateau);
  config.plateau_window = 0;
  config.patience = 3;
  PlateauTermination patient(config.plateau_options());
  EXPECT_FALSE(patient.should_stop(history_of({1.0, 0.5, 0.6, 0.7})));
  EXPECT_EQ(patient.should_stop(history_of({1.0, 0.5, 0.6, 0.7, 0.8})), StopReason::Patience);
  config.patience = 0;
  config.iterations = 3;
  PlateauTermination capped(config.plateau_options());
  EXPECT_EQ(capped.should_stop(history_of({1.0, 0.9, 0.8})), StopReason::Iterations);
}

TEST(LearningRateSchedule, HalvesOnAPlateauAndConvergesAfterTheLastReduction) {
  ScheduleOptions options;
  options.patience = 3;
  options.factor = 0.5;
  options.reductions = 2;
  options.min_improvement = 0.01;  // a new best must be 1% below the reference
  LearningRateSchedule schedule(options);
  using Action = LearningRateSchedule::Action;
  const auto feed = [&](std::initializer_list<double> losses) {
    std::vector<Action> actions;
    for (double loss : losses) actions.push_back(schedule.observe(loss));
    return actions;
  };
  // 0.5 improves on 1.0; 0.499 and 0.498 are less than 1% better; the third such is the plateau.
  EXPECT_EQ(feed({1.0, 0.5, 0.499, 0.498}),
            (std::vector<Action>{Action::Continue, Action::Continue, Action::Continue, Action::Continue}));
  EXPECT_EQ(feed({0.497}), std::vector<Action>{Action::Reduce});
  EXPECT_DOUBLE_EQ(schedule.scale(), 0.5);
  // A real improvement resets the count; then three more without one: the second reduction.
  EXPECT_EQ(feed({0.4, 0.45, 0.41, 0.399}),
            (std::vector<Action>{Action::Continue, Action::Continue, Action::Continue, Action::Reduce}));
  EXPECT_DOUBLE_EQ(schedule.scale(), 0.25);
  // After the last reduction the next plateau is convergence, reported once.
  EXPECT_EQ(feed({0.4, 0.4, 0.4, 0.4}),
            (std::vector<Action>{Action::Continue, Action::Continue, Action::Converged, Action::Continue}));
  EXPECT_EQ(schedule.reductions(), 2);

  // Replaying the same losses as a history reaches the same state.
  std::vector<IterationRecord> history;
  for (double loss : {1.0, 0.5, 0.499, 0.498, 0.497, 0.4, 0.45, 0.41, 0.399})
    history.push_back({static_cast<int64_t>(history.size() + 1), 0.0, 0.0, 0.0, loss});
  LearningRateSchedule replayed(options);
  EXPECT_EQ(replayed.replay(history), Action::Reduce);
  EXPECT_EQ(replayed.reductions(), 2);
  options.patience = 0;  // off: never reduces, never converges
  LearningRateSchedule off(options);
  EXPECT_EQ(off.replay(history), Action::Continue);
  EXPECT_DOUBLE_EQ(off.scale(), 1.0);
}

struct SmallFit {
  Dataset dataset;
  Masks masks;
  ModelConfig model_config = tiny_config(2, 6);
  TrainConfig train_config;

  SmallFit() {
    torch::manual_seed(0);
    dataset = tiny_dataset(8, 10, 4);
    masks = make_block_masks(8, 10, 4, MaskConfig{});
    train_config.iterations = 15;
    train_config.plateau_window = 0;
    train_config.fraction_masked = 0.3;
  }
  std::vector<IterationRecord> run(const torch::Tensor& data, RnnModel* out_model = nullptr) {
    torch::manual_seed(static_cast<uint64_t>(train_config.seed));
    RnnModel model(model_config, TrialStructure::from_dataset(dataset, model_config));
    model->to(torch::kFloat32);
    const FitTarget target = make_fit_target(data, masks, LossKind::MSE, false, torch::kFloat32);
    PlateauTermination termination(train_config.plateau_options());
    auto result = fit(model, target, train_config, termination).history;
    if (out_model) *out_model = model;
    return result;
  }
};

TEST(Fit, SameSeedGivesIdenticalNumbers) {
  SmallFit f;
  const auto a = f.run(f.dataset.data);
  const auto b = f.run(f.dataset.data);
  ASSERT_EQ(a.size(), 15u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].train_loss, b[i].train_loss);
    EXPECT_EQ(a[i].test_loss, b[i].test_loss);
  }
  f.train_config.seed = 1;
  EXPECT_NE(f.run(f.dataset.data).back().train_loss, a.back().train_loss);
}

TEST(Fit, HeldOutEntriesDoNotInfluenceTheFit) {
  SmallFit f;
  const auto original = f.run(f.dataset.data);
  // Scramble every entry that is not a training entry: the training trajectory is unchanged.
  const torch::Tensor scrambled =
      torch::where(f.masks.train, f.dataset.data, 100.0 * torch::randn_like(f.dataset.data));
  const auto changed = f.run(scrambled);
  for (std::size_t i = 0; i < original.size(); ++i) EXPECT_EQ(original[i].train_loss, changed[i].train_loss) << i;
  EXPECT_NE(original.back().test_loss, changed.back().test_loss);
}

TEST(Fit, WithAValidationSetTheSavedModelIsTheBestIterateOnValidation) {
  SmallFit f;
  f.train_config.iterations = 40;
  f.train_config.learning_rate = 0.2;  // large steps: the validation loss does not fall monotonically
  ASSERT_TRUE(f.masks.validation.any().item<bool>());
  RnnModel model{nullptr};
  torch::manual_seed(0);
  model = RnnModel(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  model->to(torch::kFloat32);
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat32);
  PlateauTermination termination(f.train_config.plateau_options());
  const FitResult result = fit(model, target, f.train_config, termination);
  const auto best = std::min_element(result.history.begin(), result.history.end(), [](const auto& a, const auto& b) {
    return a.validation_loss < b.validation_loss;
  });
  EXPECT_EQ(result.saved_steps, best->iteration - 1);  // its record was taken before its step
  // The model's validation loss, recomputed independently, is the history's minimum.
  {
    torch::NoGradGuard no_grad;
    const auto out = model->simulate(torch::arange(10, torch::kInt64));
    const double validation =
        data_term(LossKind::MSE, out.linear, target.data, target.validation, target.validation_variance).item<double>();
    EXPECT_NEAR(validation, best->validation_loss, 1e-5 * best->validation_loss);
  }
  EXPECT_LT(result.saved_steps, 40);  // not simply the last iterate
  // Without a validation set the model keeps its last parameters.
  Masks no_validation = f.masks;
  no_validation.validation = torch::zeros_like(f.masks.train);
  const FitTarget test_only = make_fit_target(f.dataset.data, no_validation, LossKind::MSE, false, torch::kFloat32);
  torch::manual_seed(0);
  RnnModel last(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  last->to(torch::kFloat32);
  PlateauTermination again(f.train_config.plateau_options());
  const FitResult plain = fit(last, test_only, f.train_config, again);
  EXPECT_EQ(plain.saved_steps, 40);
  EXPECT_TRUE(std::isnan(plain.history.back().validation_loss));
}

TEST(Fit, TrainingLossDecreases) {
  SmallFit f;
  f.train_config.iterations = 60;
  f.train_config.fraction_masked = 0.0;
  const auto history = f.run(f.dataset.data);
  EXPECT_LT(history.back().train_loss, 0.9 * history.front().train_loss);
}

TEST(Fit, DivergedFitStopsAndKeepsTheLastGoodCheckpoint) {
  SmallFit f;
  torch::manual_seed(0);
  RnnModel model(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  {
    torch::NoGradGuard no_grad;
    model->readout.fill_(std::nan(""));  // non-finite from the first iteration on
  }
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat64);
  PlateauTermination termination(f.train_config.plateau_options());
  int checkpoints = 0;
  FitHooks hooks;
  hooks.on_checkpoint = [&](const FitProgress&) { ++checkpoints; };
  const FitResult result = fit(model, target, f.train_config, termination, hooks);
  EXPECT_TRUE(result.diverged());
  EXPECT_EQ(result.stop_reason, StopReason::Diverged);
  EXPECT_GT(result.diverged_at, 0);
  EXPECT_EQ(result.stop_text().rfind("diverged: non-finite loss at iteration ", 0), 0u) << result.stop_text();
  EXPECT_EQ(checkpoints, 0);
}

TEST(Fit, CheckpointRestoresTheModel) {
  SmallFit f;
  RnnModel trained{nullptr};
  f.run(f.dataset.data, &trained);
  const ScratchDirectory dir;
  const auto path = dir / "checkpoint.pt";
  save_checkpoint(path, trained, nullptr, history_of({0.5, 0.25}));
  torch::manual_seed(99);  // a different initialisation, overwritten by the load
  RnnModel restored(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  restored->to(torch::kFloat32);
  const FitStart start = load_checkpoint(path, restored);
  ASSERT_EQ(start.history.size(), 2u);
  EXPECT_EQ(start.history[1].test_loss, 0.25);
  const torch::Tensor trials = torch::arange(10, torch::kInt64);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(trained->forward(trials), restored->forward(trials)));
}

// Planted ground truth: a small rank-2 teacher. A rank-2 fit explains the held-out data
// (nMSE < 0.1); a rank-1 fit does clearly worse.
// A tensor_rank model of hidden size 20 at `rank`, seed 0, fitted for 500 iterations to
// `target`; with the Poisson loss the exponential link and the readout baseline at the log
// of each neuron's mean count on its training entries.
RnnModel fit_teacher_at_rank(const Dataset& dataset, const Masks& masks, const FitTarget& target, int64_t rank) {
  ModelConfig mc;
  mc.rank = rank;
  mc.hidden = 20;
  TrainConfig tc;
  tc.iterations = 500;
  torch::manual_seed(0);
  RnnModel model(mc, TrialStructure::from_dataset(dataset, mc));
  if (target.loss == LossKind::Poisson) {
    model->exp_link = true;
    const torch::Tensor w = masks.train.to(torch::kFloat64);
    model->set_readout_bias(
        ((dataset.data * w).sum(torch::IntArrayRef{0, 1}) / w.sum(torch::IntArrayRef{0, 1})).clamp_min(1e-3).log());
  }
  model->to(torch::kFloat32);
  PlateauTermination termination(tc.plateau_options());
  fit(model, target, tc, termination);
  return model;
}

TEST(Recovery, Rank2TeacherIsFitByRank2AndNotByRank1) {
  TeacherConfig teacher;
  teacher.hidden = 20;
  teacher.neurons = 20;
  teacher.trials_per_epoch = 20;
  teacher.bins = 30;
  teacher.preparatory_bins = 8;
  const TeacherData data = simulate_teacher(teacher);
  const Masks masks = make_block_masks(30, 60, 20, MaskConfig{});
  double nmse[3] = {0, 0, 0};
  for (int64_t rank : {1, 2}) {
    const FitTarget target = make_fit_target(data.dataset.data, masks, LossKind::MSE, false, torch::kFloat32);
    RnnModel model = fit_teacher_at_rank(data.dataset, masks, target, rank);
    torch::NoGradGuard no_grad;
    const torch::Tensor prediction = model->forward(torch::arange(60, torch::kInt64));
    nmse[rank] = score_predictions(prediction, prediction, target).test_nmse;
  }
  EXPECT_LT(nmse[2], 0.1);
  EXPECT_GT(nmse[1], 2.0 * nmse[2]);
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

// A model of the small fit, initialised from `seed`.
RnnModel fresh_model(const SmallFit& f, uint64_t seed) {
  torch::manual_seed(seed);
  RnnModel model(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  model->to(torch::kFloat32);
  return model;
}

// A fit "killed" right after its first checkpoint: it runs `config` (from seed 0) but only
// the first checkpoint reaches `path`; the one written when a fit ends holds the saved
// (best) parameters, not those a killed fit would leave behind.
void fit_killed_after_first_checkpoint(const SmallFit& f, const FitTarget& target, const TrainConfig& config,
                                       const fs::path& path) {
  RnnModel model = fresh_model(f, 0);
  PlateauTermination termination(config.plateau_options());
  FitHooks hooks;
  hooks.on_checkpoint = [&](const FitProgress& progress) {
    if (!fs::exists(path)) save_checkpoint(path, model, &progress.optimizer, progress.history, progress.best);
  };
  fit(model, target, config, termination, hooks);
}

// Fits `f` whole, and again killed after its checkpoint at iteration 10 and resumed into a
// fresh model: the numbers must be those of the uninterrupted fit (parameters, Adam state,
// history, dropout draws and the learning-rate schedule all carry over).
void expect_resumed_fit_equals_uninterrupted_fit(SmallFit& f) {
  const auto uninterrupted = f.run(f.dataset.data);

  const ScratchDirectory dir;
  const auto path = dir / "checkpoint.pt";
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat32);
  TrainConfig stop_early = f.train_config;
  stop_early.iterations = 10;  // "killed" right after the checkpoint at iteration 10
  fit_killed_after_first_checkpoint(f, target, stop_early, path);
  RnnModel resumed = fresh_model(f, 42);  // a different initialisation, replaced by the checkpoint
  const FitStart start = load_checkpoint(path, resumed);
  ASSERT_EQ(start.history.size(), 10u);
  PlateauTermination termination(f.train_config.plateau_options());
  ASSERT_GT(start.best.iteration, 0);  // the best iterate is in the checkpoint
  const FitResult result = fit(resumed, target, f.train_config, termination, {}, &start);
  const auto& history = result.history;
  ASSERT_EQ(history.size(), uninterrupted.size());
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].train_loss, uninterrupted[i].train_loss) << i;
    EXPECT_EQ(history[i].test_loss, uninterrupted[i].test_loss) << i;
    EXPECT_EQ(history[i].validation_loss, uninterrupted[i].validation_loss) << i;
  }
  // The same saved model as the uninterrupted fit.
  RnnModel whole{nullptr};
  f.run(f.dataset.data, &whole);
  const auto a = resumed->parameters(), b = whole->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

TEST(Fit, ResumedFitEqualsUninterruptedFit) {
  SmallFit f;
  f.train_config.iterations = 24;
  f.train_config.checkpoint_every = 10;
  expect_resumed_fit_equals_uninterrupted_fit(f);
}

// The schedule halves the rate (and returns to the best iterate) both before and after the
// checkpoint: its state, a function of the history, is rebuilt on resume.
TEST(Fit, ResumedAcrossLearningRateReductionsEqualsUninterruptedFit) {
  SmallFit f;
  f.train_config.iterations = 30;
  f.train_config.checkpoint_every = 10;
  f.train_config.learning_rate = 0.2;
  f.train_config.lr_patience = 2;
  f.train_config.lr_reductions = 20;
  f.train_config.min_improvement = 0.05;
  const auto history = f.run(f.dataset.data);
  LearningRateSchedule first_ten(f.train_config.schedule_options()), all(f.train_config.schedule_options());
  first_ten.replay({history.begin(), history.begin() + 10});
  all.replay(history);
  ASSERT_GE(first_ten.reductions(), 1);
  ASSERT_GT(all.reductions(), first_ten.reductions());
  expect_resumed_fit_equals_uninterrupted_fit(f);
}

// Killed between the periodic checkpoint at the last iteration and the final one: the
// resumed fit stops at once and must still end with the best iterate, not the last
// parameters the periodic checkpoint holds.
TEST(Fit, ResumeThatStopsAtOnceStillSavesTheBestIterate) {
  SmallFit f;
  f.train_config.iterations = 20;
  f.train_config.checkpoint_every = 20;
  f.train_config.learning_rate = 0.2;  // large steps: the best iterate is not the last
  RnnModel whole{nullptr};
  f.run(f.dataset.data, &whole);

  const ScratchDirectory dir;
  const auto path = dir / "checkpoint.pt";
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat32);
  fit_killed_after_first_checkpoint(f, target, f.train_config, path);  // the periodic checkpoint at 20
  RnnModel resumed = fresh_model(f, 42);
  const FitStart start = load_checkpoint(path, resumed);
  ASSERT_EQ(start.history.size(), 20u);
  ASSERT_LT(start.best.iteration, 20);  // the checkpoint's parameters are not the best iterate's
  PlateauTermination termination(f.train_config.plateau_options());
  const FitResult result = fit(resumed, target, f.train_config, termination, {}, &start);
  EXPECT_EQ(result.history.size(), 20u);
  EXPECT_EQ(result.saved_steps, start.best.iteration - 1);
  const auto a = resumed->parameters(), b = whole->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {

TEST(Scores, AgreeWithAnExplicitComputation) {
  torch::manual_seed(4);
  const torch::Tensor y = torch::randn({5, 4, 3}, torch::kFloat64) + torch::tensor({0.0, 2.0, -1.0}, torch::kFloat64);
  const torch::Tensor prediction = y + 0.3 * torch::randn_like(y);
  const torch::Tensor test = torch::rand({5, 4, 3}, torch::kFloat64) < 0.5;
  const FitTarget target = make_fit_target(y, Masks{~test, {}, test}, LossKind::MSE, false, torch::kFloat64);
  const Scores s = score_predictions(prediction, prediction, target);
  // Independent computation with plain loops.
  double sse = 0, n = 0, sum = 0, sum_sq = 0;
  std::vector<double> residuals;
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t k = 0; k < 4; ++k)
      for (int64_t i = 0; i < 3; ++i)
        if (test[t][k][i].item<bool>()) {
          const double v = y[t][k][i].item<double>(), r = prediction[t][k][i].item<double>() - v;
          sse += r * r, n += 1, sum += v, sum_sq += v * v;
          residuals.push_back(r * r);
        }
  const double variance = sum_sq / n - (sum / n) * (sum / n);
  EXPECT_NEAR(s.test_mse, sse / n, 1e-12);
  EXPECT_NEAR(s.test_nmse, sse / n / variance, 1e-10);
  double mean_r = 0, var_r = 0;
  for (double r : residuals) mean_r += r / residuals.size();
  for (double r : residuals) var_r += (r - mean_r) * (r - mean_r) / (residuals.size() - 1);
  EXPECT_NEAR(s.test_nmse_se, std::sqrt(var_r / residuals.size()) / variance, 1e-10);
  EXPECT_GT(s.test_r2, 0.5);
  EXPECT_LT(s.test_r2, 1.0);
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {

// Poisson scores against plain loops: log-likelihoods, a per-neuron constant rate fitted on
// the training entries, bits per spike, deviance explained, the validation loss and its s.e.
// The Poisson scores of log-rates `eta` on the entries of `mask`, by explicit loops over the
// entries (independent of train/loss.cpp's tensor code): bits per spike and deviance explained
// against each neuron's mean count over the `train` entries, and the mean NLL term and its
// standard error.
struct LoopPoissonScores {
  double bits = 0, explained = 0, loss = 0, se = 0;
  std::vector<double> null_rate;
};
LoopPoissonScores poisson_scores_by_loops(const torch::Tensor& y, const torch::Tensor& eta, const torch::Tensor& train,
                                          const torch::Tensor& mask) {
  const int64_t T = y.size(0), K = y.size(1), D = y.size(2);
  const auto Y = y.accessor<double, 3>(), E = eta.accessor<double, 3>();
  const auto Train = train.accessor<bool, 3>(), M = mask.accessor<bool, 3>();
  LoopPoissonScores out;
  out.null_rate.assign(D, 0.0);
  std::vector<double> train_n(D, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < D; ++i)
        if (Train[t][k][i]) out.null_rate[i] += Y[t][k][i], train_n[i] += 1;
  for (int64_t i = 0; i < D; ++i) out.null_rate[i] /= train_n[i];
  double ll = 0, ll0 = 0, spikes = 0, dev = 0, dev0 = 0, n = 0;
  std::vector<double> terms;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < D; ++i) {
        if (!M[t][k][i]) continue;
        const double yy = Y[t][k][i], lam = std::exp(E[t][k][i]), lam0 = out.null_rate[i];
        const double log_factorial = std::lgamma(yy + 1);
        ll += yy * std::log(lam) - lam - log_factorial;
        ll0 += yy * std::log(lam0) - lam0 - log_factorial;
        const double yly = yy > 0 ? yy * std::log(yy) : 0.0;
        dev += 2 * (yly - yy * std::log(lam) - (yy - lam));
        dev0 += 2 * (yly - yy * std::log(lam0) - (yy - lam0));
        spikes += yy, n += 1;
        terms.push_back(lam - yy * std::log(lam));
      }
  out.bits = (ll - ll0) / (spikes * std::log(2.0));
  out.explained = 1 - dev / dev0;
  double mean = 0, var = 0;
  for (double v : terms) mean += v / n;
  for (double v : terms) var += (v - mean) * (v - mean) / (n - 1);
  out.loss = mean;
  out.se = std::sqrt(var / n);
  return out;
}

TEST(Scores, PoissonBitsPerSpikeAndDevianceAgreeWithLoops) {
  torch::manual_seed(6);
  const int64_t T = 6, K = 5, D = 4;
  const torch::Tensor rate = 0.5 + 3.0 * torch::rand({T, K, D}, torch::kFloat64);
  const torch::Tensor y = torch::poisson(rate);
  const torch::Tensor eta = (rate * (0.8 + 0.4 * torch::rand_like(rate))).log();  // a model near the truth
  const torch::Tensor u = torch::rand({T, K, D}, torch::kFloat64);
  const Masks masks{u < 0.6, u >= 0.8, (u >= 0.6) & (u < 0.8)};
  const FitTarget target = make_fit_target(y, masks, LossKind::Auto, true, torch::kFloat64);
  ASSERT_EQ(target.loss, LossKind::Poisson);
  const Scores s = score_predictions(eta.exp(), eta, target);

  const LoopPoissonScores test = poisson_scores_by_loops(y, eta, masks.train, masks.test);
  EXPECT_NEAR(s.test_bits_per_spike, test.bits, 1e-10);
  EXPECT_NEAR(s.test_deviance_explained, test.explained, 1e-10);
  EXPECT_GT(s.test_bits_per_spike, 0);  // near the truth beats a constant rate
  const LoopPoissonScores validation = poisson_scores_by_loops(y, eta, masks.train, masks.validation);
  EXPECT_NEAR(s.validation_bits_per_spike, validation.bits, 1e-10);
  EXPECT_NEAR(s.validation_loss, validation.loss, 1e-10);
  EXPECT_NEAR(s.validation_loss_se, validation.se, 1e-10);
  // The constant rate itself scores 0 bits per spike and explains no deviance.
  const torch::Tensor constant = torch::tensor(test.null_rate, torch::kFloat64).log().expand({T, K, D}).contiguous();
  const Scores null_scores = score_predictions(constant.exp(), constant, target);
  EXPECT_NEAR(null_scores.test_bits_per_spike, 0.0, 1e-12);
  EXPECT_NEAR(null_scores.test_deviance_explained, 0.0, 1e-12);
  // MSE fits have no bits per spike.
  const FitTarget mse = make_fit_target(y, masks, LossKind::MSE, true, torch::kFloat64);
  EXPECT_TRUE(std::isnan(score_predictions(eta.exp(), eta.exp(), mse).test_bits_per_spike));
}

// Co-smoothing (docs/design.md section 5, "Held-out neurons"): a planted rank-2 spiking
// teacher fitted with a quarter of its neurons held out on a tenth of its trials. The held-out
// neurons' spikes on those trials, never seen in the fit, are predicted from the other
// neurons far better than by their mean rate (co-bps > 0.5; 1.38 measured), rank 2
// predicts them better than rank 1 (0.90), and the co-bps agree with the loops above on the
// fit's own predictions.
TEST(Scores, HeldOutNeuronsArePredictedFromTheOthers) {
  TeacherConfig teacher;
  teacher.hidden = 20;
  teacher.neurons = 24;
  teacher.trials_per_epoch = 20;
  teacher.bins = 30;
  teacher.preparatory_bins = 8;
  teacher.spikes = true;
  const TeacherData data = simulate_teacher(teacher);
  const int64_t T = data.dataset.n_bins(), K = data.dataset.n_trials(), D = data.dataset.n_neurons();
  MaskConfig mask;
  mask.held_out_neurons = 0.25;
  const Masks masks = make_masks(T, K, D, mask);
  const torch::Tensor y = data.dataset.data.to(torch::kFloat64);
  double co_bps[3] = {0, 0, 0};
  for (int64_t rank : {1, 2}) {
    const FitTarget target = make_fit_target(y, masks, LossKind::Poisson, true, torch::kFloat32);
    RnnModel model = fit_teacher_at_rank(data.dataset, masks, target, rank);
    torch::NoGradGuard no_grad;
    const RnnModelImpl::Output out = model->simulate(torch::arange(K, torch::kInt64));
    const Scores s = score_predictions(out.prediction, out.linear, target);
    const torch::Tensor linear = out.linear.to(torch::kFloat64);
    co_bps[rank] = s.test_bits_per_spike;
    const LoopPoissonScores loops = poisson_scores_by_loops(y, linear, masks.train, masks.test);
    EXPECT_NEAR(s.test_bits_per_spike, loops.bits, 1e-9) << "rank " << rank;
  }
  RecordProperty("co_bps_rank1", std::to_string(co_bps[1]));
  RecordProperty("co_bps_rank2", std::to_string(co_bps[2]));
  EXPECT_GT(co_bps[2], 0.5);
  EXPECT_GT(co_bps[2], co_bps[1]);
}

TEST(Checkpoint, KeepsTheBestIterate) {
  SmallFit f;
  RnnModel trained{nullptr};
  f.run(f.dataset.data, &trained);
  BestIterate best;
  best.iteration = 7;
  best.validation_loss = 0.125;
  for (const auto& p : trained->parameters()) best.parameters.push_back(p.detach().clone() + 1.0);
  const ScratchDirectory dir;
  save_checkpoint(dir / "checkpoint.pt", trained, nullptr, validated_history({0.5, 0.125}), best);
  RnnModel restored(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  restored->to(torch::kFloat32);
  const FitStart start = load_checkpoint(dir / "checkpoint.pt", restored);
  EXPECT_EQ(start.best.iteration, 7);
  EXPECT_EQ(start.best.validation_loss, 0.125);
  EXPECT_EQ(start.history[1].validation_loss, 0.125);
  ASSERT_EQ(start.best.parameters.size(), best.parameters.size());
  for (std::size_t i = 0; i < best.parameters.size(); ++i)
    EXPECT_TRUE(torch::equal(start.best.parameters[i], best.parameters[i])) << i;
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

// A small fit whose Adam phase converges within tens of iterations, so the polish runs.
SmallFit polished_fit() {
  SmallFit f;
  f.train_config.iterations = 400;
  f.train_config.learning_rate = 0.05;
  f.train_config.lr_patience = 5;
  f.train_config.lr_reductions = 1;
  f.train_config.min_improvement = 0.01;
  f.train_config.checkpoint_every = 7;
  return f;
}

// The gradient norm of the whole training objective (every trial kept) at the model's
// parameters.
double objective_gradient_norm(RnnModel& model, const FitTarget& target, const TrainConfig& config) {
  for (auto& p : model->parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  const int64_t K = target.data.size(1);
  objective(model, target, config, torch::ones({K}, torch::kBool)).backward();
  double sq = 0;
  for (auto& p : model->parameters())
    if (p.grad().defined()) sq += p.grad().to(torch::kFloat64).square().sum().item<double>();
  return std::sqrt(sq);
}

// The polish starts where Adam's schedule converged and ends near a stationary point of the
// full-batch objective: without a validation set the fit keeps its last iterate, whose
// gradient must be far smaller than at Adam's end and whose objective is lower.
TEST(Polish, EndsNearAStationaryPointOfTheWholeObjective) {
  SmallFit f = polished_fit();
  // Run the polish on: stop only when the test loss has not improved at all for 50 iterations.
  f.train_config.polish_patience = 50;
  f.train_config.polish_tolerance = 0;
  f.masks.validation = torch::zeros_like(f.masks.train);
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat64);
  RnnModel model = fresh_model(f, 0);
  model->to(torch::kFloat64);
  std::vector<torch::Tensor> adam_end;
  FitHooks hooks;
  hooks.on_checkpoint = [&](const FitProgress& progress) {
    // The checkpoint written as the polish starts: its history is Adam's alone.
    if (adam_end.empty() && !progress.history.empty() && progress.history.back().iteration > 0 &&
        std::none_of(progress.history.begin(), progress.history.end(), [](const auto& r) { return r.polish; }) &&
        LearningRateSchedule(f.train_config.schedule_options()).replay(progress.history) ==
            LearningRateSchedule::Action::Converged)
      for (const auto& p : model->parameters()) adam_end.push_back(p.detach().clone());
  };
  PlateauTermination termination(f.train_config.plateau_options());
  const FitResult result = fit(model, target, f.train_config, termination, hooks);
  const auto first_polish =
      std::find_if(result.history.begin(), result.history.end(), [](const auto& r) { return r.polish; });
  ASSERT_NE(first_polish, result.history.end());
  EXPECT_TRUE(std::all_of(first_polish, result.history.end(), [](const auto& r) { return r.polish; }));
  EXPECT_LE(result.history.size(), 400u);
  ASSERT_FALSE(adam_end.empty());

  const double polished_gradient = objective_gradient_norm(model, target, f.train_config);
  const int64_t K = target.data.size(1);
  const double polished_objective =
      objective(model, target, f.train_config, torch::ones({K}, torch::kBool)).item<double>();
  {
    torch::NoGradGuard no_grad;
    const auto parameters = model->parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(adam_end[i]);
  }
  const double adam_gradient = objective_gradient_norm(model, target, f.train_config);
  const double adam_objective = objective(model, target, f.train_config, torch::ones({K}, torch::kBool)).item<double>();
  EXPECT_LT(polished_objective, adam_objective);
  EXPECT_LT(polished_gradient, 0.5 * adam_gradient) << polished_gradient << " vs " << adam_gradient;
}

// The uninterrupted fit of `f` from seed 0's initialisation, into `model`.
FitResult fit_from_seed_zero(const SmallFit& f, const FitTarget& target, RnnModel& model) {
  model = fresh_model(f, 0);
  PlateauTermination termination(f.train_config.plateau_options());
  return fit(model, target, f.train_config, termination);
}

// Killed part-way through the polish: the checkpoint is the one written as the polish
// started, and the resumed fit polishes again from it to the same numbers. The final
// checkpoint (with the polish's records) resumes as a finished fit.
TEST(Polish, ResumedPartWayEqualsUninterruptedFit) {
  SmallFit f = polished_fit();
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat32);
  RnnModel whole{nullptr};
  const FitResult uninterrupted = fit_from_seed_zero(f, target, whole);
  ASSERT_EQ(uninterrupted.stop_reason, StopReason::Converged);
  const auto polish_records =
      std::count_if(uninterrupted.history.begin(), uninterrupted.history.end(), [](const auto& r) { return r.polish; });
  ASSERT_GT(polish_records, 5);

  const ScratchDirectory dir;
  const auto path = dir / "checkpoint.pt";
  RnnModel killed = fresh_model(f, 0);
  FitHooks hooks;
  hooks.on_checkpoint = [&](const FitProgress& progress) {
    save_checkpoint(path, killed, &progress.optimizer, progress.history, progress.best);
  };
  int64_t polished = 0;
  hooks.on_iteration = [&](const IterationRecord& r) {
    if (r.polish && ++polished == 5) throw std::runtime_error("killed");
  };
  PlateauTermination again(f.train_config.plateau_options());
  EXPECT_THROW(fit(killed, target, f.train_config, again, hooks), std::runtime_error);

  RnnModel resumed = fresh_model(f, 42);
  const FitStart start = load_checkpoint(path, resumed);
  ASSERT_FALSE(start.history.empty());
  EXPECT_FALSE(start.history.back().polish);
  PlateauTermination third(f.train_config.plateau_options());
  FitHooks final_checkpoint;
  final_checkpoint.on_checkpoint = [&](const FitProgress& progress) {
    save_checkpoint(path, resumed, &progress.optimizer, progress.history, progress.best);
  };
  const FitResult result = fit(resumed, target, f.train_config, third, final_checkpoint, &start);
  ASSERT_EQ(result.history.size(), uninterrupted.history.size());
  for (std::size_t i = 0; i < result.history.size(); ++i) {
    EXPECT_EQ(result.history[i].validation_loss, uninterrupted.history[i].validation_loss) << i;
    EXPECT_EQ(result.history[i].polish, uninterrupted.history[i].polish) << i;
  }
  EXPECT_EQ(result.stop_reason, StopReason::Converged);
  EXPECT_EQ(result.saved_steps, uninterrupted.saved_steps);
  const auto a = resumed->parameters(), b = whole->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;

  // The final checkpoint holds the polish's records: a resume stops at once, converged.
  RnnModel finished = fresh_model(f, 7);
  const FitStart end = load_checkpoint(path, finished);
  ASSERT_TRUE(end.history.back().polish);
  PlateauTermination fourth(f.train_config.plateau_options());
  const FitResult at_once = fit(finished, target, f.train_config, fourth, {}, &end);
  EXPECT_EQ(at_once.history.size(), uninterrupted.history.size());
  EXPECT_EQ(at_once.stop_reason, StopReason::Converged);
  const auto c = finished->parameters();
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(torch::equal(c[i], b[i])) << i;
}

// Adam that has not converged hands over to the polish after polish_after iterations; with
// polish_after 0 there is no polish, and the Adam iterations are the same either way.
TEST(Polish, StartsAfterPolishAfterAdamIterationsAndIsOffAtZero) {
  SmallFit f;
  f.train_config.iterations = 60;
  f.train_config.lr_patience = 0;  // no schedule: Adam never converges
  f.train_config.polish_after = 25;
  const auto polished = f.run(f.dataset.data);
  ASSERT_GT(polished.size(), 25u);
  for (std::size_t i = 0; i < polished.size(); ++i) EXPECT_EQ(polished[i].polish, i >= 25) << i;
  f.train_config.polish_after = 0;
  const auto plain = f.run(f.dataset.data);
  ASSERT_EQ(plain.size(), 60u);
  for (std::size_t i = 0; i < 25; ++i) EXPECT_EQ(plain[i].validation_loss, polished[i].validation_loss) << i;
  EXPECT_TRUE(std::none_of(plain.begin(), plain.end(), [](const auto& r) { return r.polish; }));
}

// A rank ladder's fit (FitStart::polish_only): the polish alone, from the parameters the model
// holds: its first record is theirs (as an Adam fit's first record is), every record is the
// polish's, and the saved model's validation loss is at most the start's.
TEST(Polish, PolishOnlyStartsFromTheModelsParametersAndKeepsItsBest) {
  SmallFit f = polished_fit();
  const FitTarget target = make_fit_target(f.dataset.data, f.masks, LossKind::MSE, false, torch::kFloat32);
  RnnModel adam_model{nullptr};
  const FitResult adam = fit_from_seed_zero(f, target, adam_model);

  RnnModel model = fresh_model(f, 0);
  FitStart start;
  start.polish_only = true;
  PlateauTermination again(f.train_config.plateau_options());
  const FitResult polished = fit(model, target, f.train_config, again, {}, &start);
  ASSERT_FALSE(polished.history.empty());
  EXPECT_EQ(polished.history.front().validation_loss, adam.history.front().validation_loss);
  EXPECT_TRUE(std::all_of(polished.history.begin(), polished.history.end(), [](const auto& r) { return r.polish; }));
  EXPECT_EQ(polished.stop_reason, StopReason::Converged);
  const double best =
      std::min_element(polished.history.begin(), polished.history.end(), [](const auto& a, const auto& b) {
        return a.validation_loss < b.validation_loss;
      })->validation_loss;
  EXPECT_LT(best, polished.history.front().validation_loss);
  // The saved parameters are the best record's: a polish-only resume of the final state stops at once.
  FitStart finished{polished.history, {}, {}, true};
  PlateauTermination third(f.train_config.plateau_options());
  const FitResult at_once = fit(model, target, f.train_config, third, {}, &finished);
  EXPECT_EQ(at_once.history.size(), polished.history.size());
}

// The pairs the polish keeps: polish_history while they fit in 256 MiB, never fewer than 10,
// so the full family at B1's size (K 250 x N 200^2 float32 weights) keeps 10 as before.
TEST(Polish, KeepsAtMostTheCurvaturePairsThatFitItsMemory) {
  EXPECT_EQ(polish_pairs(100, 50'000, 4), 100);     // a tensor_rank fit: 40 MB
  EXPECT_EQ(polish_pairs(100, 1'000'000, 4), 33);   // 268,435,456 / (2 x 4,000,000) = 33.6
  EXPECT_EQ(polish_pairs(100, 1'000'000, 8), 16);   // float64: half as many
  EXPECT_EQ(polish_pairs(100, 10'000'000, 4), 10);  // the full family at B1
  EXPECT_EQ(polish_pairs(5, 50'000, 4), 5);         // a smaller history is kept as asked
}

TEST(Polish, RefusesBadOptions) {
  TrainConfig c;
  c.polish_after = -1;
  EXPECT_THROW(validate(c, "/train"), InputError);
  c = TrainConfig{};
  c.polish_patience = 0;
  EXPECT_THROW(validate(c, "/train"), InputError);
  c = TrainConfig{};
  c.polish_tolerance = 1.0;
  try {
    validate(c, "/train");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/train/polish_tolerance"), std::string::npos) << e.what();
  }
  c = TrainConfig{};
  c.polish_history = 0;
  try {
    validate(c, "/train");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/train/polish_history"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ltrnn
