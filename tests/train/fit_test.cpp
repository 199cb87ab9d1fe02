// Training: termination rules, determinism, masked entries not influencing the fit,
// checkpoints, and recovery of a planted rank-2 teacher.
#include "train/fit.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/masks.h"
#include "model/test_models.h"
#include "scratch_directory.h"
#include "sim/teacher.h"
#include "train/checkpoint.h"

namespace ltrnn {
namespace {
using testing::tiny_config;
using testing::tiny_dataset;

std::vector<IterationRecord> history_of(const std::vector<double>& test_losses) {
  std::vector<IterationRecord> h;
  for (std::size_t i = 0; i < test_losses.size(); ++i)
    h.push_back({static_cast<int64_t>(i + 1), 0.0, test_losses[i], 0.0});
  return h;
}

TEST(PlateauTermination, StopsOnPlateauPatienceAndCap) {
  TrainConfig config;
  config.iterations = 100;
  config.plateau_window = 5;
  config.plateau_threshold = 1e-3;
  PlateauTermination rule(config.plateau_options());
  EXPECT_FALSE(rule.should_stop(history_of({1.0, 0.9, 0.8, 0.7, 0.6})));
  EXPECT_EQ(rule.should_stop(history_of({1.0, 0.5, 0.5001, 0.5, 0.4999, 0.5})), "plateau");
  config.plateau_window = 0;
  config.patience = 3;
  PlateauTermination patient(config.plateau_options());
  EXPECT_FALSE(patient.should_stop(history_of({1.0, 0.5, 0.6, 0.7})));
  EXPECT_EQ(patient.should_stop(history_of({1.0, 0.5, 0.6, 0.7, 0.8})), "patience");
  config.patience = 0;
  config.iterations = 3;
  PlateauTermination capped(config.plateau_options());
  EXPECT_EQ(capped.should_stop(history_of({1.0, 0.9, 0.8})), "iterations");
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
    const FitTarget target = make_fit_target(data, masks.train, masks.test, LossKind::MSE, false, torch::kFloat32);
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
  const FitTarget target =
      make_fit_target(f.dataset.data, f.masks.train, f.masks.test, LossKind::MSE, false, torch::kFloat64);
  PlateauTermination termination(f.train_config.plateau_options());
  int checkpoints = 0;
  FitHooks hooks;
  hooks.on_checkpoint = [&](const std::vector<IterationRecord>&, torch::optim::Optimizer&) { ++checkpoints; };
  const FitResult result = fit(model, target, f.train_config, termination, hooks);
  EXPECT_TRUE(result.diverged);
  EXPECT_NE(result.stop_reason.find("diverged"), std::string::npos);
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
    ModelConfig mc;
    mc.rank = rank;
    mc.hidden = 20;
    TrainConfig tc;
    tc.iterations = 500;
    torch::manual_seed(0);
    RnnModel model(mc, TrialStructure::from_dataset(data.dataset, mc));
    model->to(torch::kFloat32);
    const FitTarget target =
        make_fit_target(data.dataset.data, masks.train, masks.test, LossKind::MSE, false, torch::kFloat32);
    PlateauTermination termination(tc.plateau_options());
    fit(model, target, tc, termination);
    torch::NoGradGuard no_grad;
    nmse[rank] = score_predictions(model->forward(torch::arange(60, torch::kInt64)), target).test_nmse;
  }
  EXPECT_LT(nmse[2], 0.1);
  EXPECT_GT(nmse[1], 2.0 * nmse[2]);
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {

// A fit stopped at a checkpoint and resumed into a fresh model gives the numbers of an
// uninterrupted fit: parameters, Adam state, history and dropout draws all carry over.
TEST(Fit, ResumedFitEqualsUninterruptedFit) {
  SmallFit f;
  f.train_config.iterations = 24;
  f.train_config.checkpoint_every = 10;
  const auto uninterrupted = f.run(f.dataset.data);

  const ScratchDirectory dir;
  const auto path = dir / "checkpoint.pt";
  const FitTarget target =
      make_fit_target(f.dataset.data, f.masks.train, f.masks.test, LossKind::MSE, false, torch::kFloat32);
  {
    torch::manual_seed(0);
    RnnModel model(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
    model->to(torch::kFloat32);
    TrainConfig stop_early = f.train_config;
    stop_early.iterations = 10;  // "killed" right after the checkpoint at iteration 10
    PlateauTermination termination(stop_early.plateau_options());
    FitHooks hooks;
    hooks.on_checkpoint = [&](const std::vector<IterationRecord>& history, torch::optim::Optimizer& optimizer) {
      save_checkpoint(path, model, &optimizer, history);
    };
    fit(model, target, stop_early, termination, hooks);
  }
  torch::manual_seed(42);  // a different initialisation, replaced by the checkpoint
  RnnModel resumed(f.model_config, TrialStructure::from_dataset(f.dataset, f.model_config));
  resumed->to(torch::kFloat32);
  const FitStart start = load_checkpoint(path, resumed);
  ASSERT_EQ(start.history.size(), 10u);
  PlateauTermination termination(f.train_config.plateau_options());
  const auto history = fit(resumed, target, f.train_config, termination, {}, &start).history;
  ASSERT_EQ(history.size(), uninterrupted.size());
  for (std::size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].train_loss, uninterrupted[i].train_loss) << i;
    EXPECT_EQ(history[i].test_loss, uninterrupted[i].test_loss) << i;
  }
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
  const FitTarget target = make_fit_target(y, ~test, test, LossKind::MSE, false, torch::kFloat64);
  const Scores s = score_predictions(prediction, target);
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
