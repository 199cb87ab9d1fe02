// The reaching RNN: the learning curve of the experiment, and the arrays it saves.
#include "sim/reach.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace ltrnn {
namespace {

ReachConfig small_reach() {
  ReachConfig c;
  c.hidden = 40;
  c.recorded = 25;
  c.trials_per_epoch = 40;
  c.bins = 40;
  c.preparatory_bins = 8;
  c.pretrain_iterations = 400;
  c.pretrain_learning_rate = 1e-2;
  return c;
}

TEST(Reach, LearningCurveShowsAdaptationAndAfterEffect) {
  const ReachConfig c = small_reach();
  const ReachData r = simulate_reach(c);
  const LearningCurve& lc = r.curve;
  // Pre-training reaches the targets roughly (distance 1).
  EXPECT_LT(r.pretrain_endpoint_error, 0.25);
  // The field pushes the hand sideways: a jump at field onset...
  EXPECT_GT(std::abs(lc.field_early), 3 * std::abs(lc.baseline_late) + 0.05) << format_learning_curve(lc);
  // ...that decays over adaptation...
  EXPECT_LT(std::abs(lc.field_late), 0.6 * std::abs(lc.field_early)) << format_learning_curve(lc);
  // ...and an after-effect of the opposite sign when it is switched off, which washes out.
  EXPECT_LT(lc.washout_early * lc.field_early, 0) << format_learning_curve(lc);
  EXPECT_LT(std::abs(lc.washout_late), std::abs(lc.washout_early)) << format_learning_curve(lc);

  // Arrays: shapes, labels, and weights that change only through learning.
  const int64_t K = 3 * c.trials_per_epoch;
  EXPECT_EQ(r.dataset.data.sizes(), (std::vector<int64_t>{c.bins, K, c.recorded}));
  EXPECT_EQ(r.weights.sizes(), (std::vector<int64_t>{K, c.hidden, c.hidden}));
  EXPECT_EQ(r.hand.sizes(), (std::vector<int64_t>{c.bins, K, 2}));
  EXPECT_EQ(r.lateral_deviation.size(0), K);
  EXPECT_EQ(r.dataset.epoch_labels, (std::vector<std::string>{"BL", "AD", "WO"}));
  EXPECT_GT((r.weights[K - 1] - r.weights[0]).abs().max().item<double>(), 0);
  // Targets come in shuffled blocks of 8: every block holds each target once.
  const auto block = std::get<0>(r.dataset.condition.narrow(0, 8, 8).sort());
  EXPECT_TRUE(torch::equal(block, torch::arange(8, torch::kInt64)));
  // Hand paths start at the centre; the recorded rates are tanh values plus noise.
  EXPECT_EQ(r.hand[0].abs().max().item<double>(), 0.0);
  EXPECT_LE(r.rates.abs().max().item<double>(), 1.0);
  const double noise = (r.dataset.data - r.rates).std().item<double>() / r.rates.std().item<double>();
  EXPECT_NEAR(noise, c.noise, 0.01);
  const auto arrays = reach_arrays(r);
  std::vector<std::string> keys;
  for (const auto& [key, array] : arrays) keys.push_back(key);
  for (const char* key : {"data", "condition", "epoch", "trial_id", "times", "weights", "hand", "lateral_deviation"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
}

// At the default size and learning rate, the trial-by-trial SGD keeps a pre-trained
// network's baseline reaches straight (with a step of 0.5 they oscillated, growing to
// deviations of ~1 target distance within 60 baseline trials).
TEST(Reach, BaselineStaysStableAtTheDefaultLearningRate) {
  ReachConfig c;  // 100 units, the default session learning rate
  c.trials_per_epoch = 60;
  c.pretrain_iterations = 300;
  const ReachData r = simulate_reach(c);
  const double baseline_max = r.lateral_deviation.narrow(0, 0, c.trials_per_epoch).abs().max().item<double>();
  EXPECT_LT(baseline_max, 0.15);
  EXPECT_GT(std::abs(r.curve.field_early), 3 * baseline_max) << format_learning_curve(r.curve);
}

TEST(Reach, RefusesImpossibleSettings) {
  ReachConfig c = small_reach();
  c.recorded = c.hidden + 1;
  EXPECT_THROW(simulate_reach(c), std::exception);
  c = small_reach();
  c.preparatory_bins = c.bins;
  EXPECT_THROW(simulate_reach(c), std::exception);
}

}  // namespace
}  // namespace ltrnn
