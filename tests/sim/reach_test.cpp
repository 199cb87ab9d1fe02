// The reaching RNN: the learning curve of the experiment, and the arrays it saves.
#include "sim/reach.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "analysis/ranks.h"
#include "util/errors.h"

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
  for (const char* key : {"data", "condition", "epoch", "trial_id", "times", "weights", "input_weights",
                          "readout_weights", "bias", "hand", "lateral_deviation"})
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

// docs/design.md section 10: a linear RNN trained by gradient descent (here SGD with
// momentum) from W = 0 keeps every W(k) and every update dW(k) inside span(B, C^T) on both
// sides, so its matrix rank is at most d_in + d_out = 3 + 2, on every trial.
ReachConfig linear_from_zero() {
  ReachConfig c = small_reach();
  c.activation = ReachActivation::Linear;
  c.init_gain = 0;
  c.pretrain_optimizer = PretrainOptimizer::SGD;
  c.trials_per_epoch = 24;
  c.pretrain_iterations = 300;
  return c;
}

TEST(Reach, LinearNetworkTrainedBySgdFromZeroHasWeightsOfRankAtMostInputsPlusOutputs) {
  const ReachConfig c = linear_from_zero();
  const ReachData r = simulate_reach(c);
  EXPECT_LT(r.pretrain_error, 0.3) << "the linear network still learns to reach";
  ASSERT_EQ(r.input_weights.sizes(), (std::vector<int64_t>{c.hidden, 3}));
  ASSERT_EQ(r.readout_weights.sizes(), (std::vector<int64_t>{2, c.hidden}));
  const RankAnalysis a = analyze_ranks(r.weights, r.input_weights, r.readout_weights, 1e-8);
  EXPECT_EQ(a.span_dimension, 5);
  for (std::size_t k = 0; k < a.weights.size(); ++k) {
    for (const SubspaceFit* f : {&a.weights[k], &a.updates[k]}) {
      EXPECT_LE(f->rank, 5) << "trial " << k;
      EXPECT_LT(f->singular_value_after_span, 1e-8) << "trial " << k;
      EXPECT_LT(f->column_outside, 1e-10) << "trial " << k;
      EXPECT_LT(f->row_outside, 1e-10) << "trial " << k;
      EXPECT_LT(f->column_angle, 1e-3) << "trial " << k;
      EXPECT_LT(f->row_angle, 1e-3) << "trial " << k;
    }
  }
  EXPECT_GT(a.updates.back().rank, 0) << "the session changed W";
}

// The same network with either departure from the theory's setting: a random full-rank
// initial W, or Adam's per-weight rescaling, and the bound is gone.
TEST(Reach, RandomInitialWeightsOrAdamBreakTheRankBound) {
  ReachConfig random_start = linear_from_zero();
  random_start.init_gain = 0.9;
  const ReachData r = simulate_reach(random_start);
  const RankAnalysis a = analyze_ranks(r.weights, r.input_weights, r.readout_weights, 1e-8);
  EXPECT_EQ(a.weights.back().rank, random_start.hidden);
  EXPECT_GT(a.weights.back().column_outside, 0.5);
  EXPECT_GT(a.updates.back().singular_value_after_span, 1e-6);

  ReachConfig adam = linear_from_zero();
  adam.pretrain_optimizer = PretrainOptimizer::Adam;
  adam.pretrain_learning_rate = 1e-2;
  const ReachData s = simulate_reach(adam);
  const RankAnalysis b = analyze_ranks(s.weights, s.input_weights, s.readout_weights, 1e-8);
  EXPECT_GT(b.weights.back().rank, 5);
  EXPECT_GT(b.weights.back().column_outside, 1e-3);
}

TEST(Reach, RefusesImpossibleSettings) {
  ReachConfig c = small_reach();
  c.recorded = c.hidden + 1;
  EXPECT_THROW(simulate_reach(c), InputError);
  c = small_reach();
  c.preparatory_bins = c.bins;
  EXPECT_THROW(simulate_reach(c), InputError);
  c = small_reach();
  c.pretrain_momentum = 1.0;
  EXPECT_THROW(simulate_reach(c), InputError);
  c = small_reach();
  c.init_gain = -0.1;
  EXPECT_THROW(simulate_reach(c), InputError);
}

// A pre-training step too large for the network ends with an error that says what to
// change, not with NaN weights in the data file.
TEST(Reach, DivergentPretrainingIsAnErrorNamingTheLearningRate) {
  ReachConfig c = linear_from_zero();
  c.pretrain_learning_rate = 50.0;
  try {
    simulate_reach(c);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("lower pretrain-learning-rate"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ltrnn
