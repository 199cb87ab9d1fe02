// Block cross-validation masks: disjoint, boundaries in neither set, target test fraction.
#include "data/masks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "util/errors.h"

namespace ltrnn {
namespace {

TEST(Masks, TrainAndTestAreDisjointAndReachTheTargetFraction) {
  MaskConfig config;
  config.test_fraction = 0.15;
  config.seed = 3;
  const Masks m = make_block_masks(30, 40, 12, config);
  EXPECT_FALSE((m.train & m.test).any().item<bool>());
  const double fraction = m.test.to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(fraction, 0.15);
  EXPECT_LT(fraction, 0.17);
  // Some entries are block boundaries: in neither set.
  EXPECT_TRUE((~m.train & ~m.test).any().item<bool>());
}

TEST(Masks, NoTrainingEntryTouchesATestEntry) {
  // Every test entry lies in an inner box whose outer box is held out, so the box of
  // half-sizes (train_half - test_half) around each test entry contains no training entry.
  MaskConfig config;
  config.train_half = {3, 2, 1};
  config.test_half = {1, 1, 0};
  config.test_fraction = 0.04;
  config.seed = 11;
  const int64_t T = 20, K = 25, D = 6;
  const Masks m = make_block_masks(T, K, D, config);
  const auto train = m.train.accessor<bool, 3>();
  const auto test = m.test.accessor<bool, 3>();
  int64_t checked = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < D; ++i) {
        if (!test[t][k][i]) continue;
        ++checked;
        for (int64_t dt = -2; dt <= 2; ++dt)
          for (int64_t dk = -1; dk <= 1; ++dk)
            for (int64_t di = -1; di <= 1; ++di) {
              const int64_t u = t + dt, l = k + dk, j = i + di;
              if (u < 0 || u >= T || l < 0 || l >= K || j < 0 || j >= D) continue;
              ASSERT_FALSE(train[u][l][j]) << "train entry next to test entry " << t << "," << k << "," << i;
            }
      }
  EXPECT_GT(checked, 0);
}

TEST(Masks, SeededAndDeterministic) {
  MaskConfig config;
  const Masks a = make_block_masks(10, 10, 5, config);
  const Masks b = make_block_masks(10, 10, 5, config);
  config.seed = 1;
  const Masks c = make_block_masks(10, 10, 5, config);
  EXPECT_TRUE(torch::equal(a.test, b.test));
  EXPECT_TRUE(torch::equal(a.train, b.train));
  EXPECT_FALSE(torch::equal(a.test, c.test));
}

TEST(Masks, RefusesBadSettings) {
  MaskConfig config;
  config.test_half = {4, 1, 0};  // larger than train_half on the time axis
  EXPECT_THROW(make_block_masks(10, 10, 5, config), InputError);
  config = MaskConfig{};
  config.test_fraction = 0.7;
  EXPECT_THROW(make_block_masks(10, 10, 5, config), InputError);
  config = MaskConfig{};
  config.validation_fraction = -0.1;
  try {
    make_block_masks(10, 10, 5, config);
    ADD_FAILURE() << "a negative validation fraction was accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("/mask/validation_fraction"), std::string::npos) << error.what();
  }
}

TEST(Masks, ValidationSetIsApartFromTestAndTrainingAndReachesItsFraction) {
  MaskConfig config;
  config.test_fraction = 0.1;
  config.validation_fraction = 0.12;
  config.seed = 5;
  const int64_t T = 30, K = 40, D = 12;
  const Masks m = make_block_masks(T, K, D, config);
  EXPECT_FALSE((m.validation & m.test).any().item<bool>());
  EXPECT_FALSE((m.validation & m.train).any().item<bool>());
  EXPECT_FALSE((m.train & m.test).any().item<bool>());
  const double validation = m.validation.to(torch::kFloat64).mean().item<double>();
  EXPECT_GE(validation, 0.12);
  EXPECT_LT(validation, 0.14);
  // No training entry within (train_half - test_half) of a validation entry.
  const auto train = m.train.accessor<bool, 3>();
  const auto held = m.validation.accessor<bool, 3>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < D; ++i) {
        if (!held[t][k][i]) continue;
        for (int64_t u = std::max<int64_t>(0, t - 1); u <= std::min<int64_t>(T - 1, t + 1); ++u)
          for (int64_t l = std::max<int64_t>(0, k - 1); l <= std::min<int64_t>(K - 1, k + 1); ++l)
            ASSERT_FALSE(train[u][l][i]) << "train entry next to validation entry " << t << "," << k << "," << i;
      }
}

// The held-out neurons and trials of co-smoothing masks, read back from the masks.
struct HeldOutSets {
  std::vector<int64_t> test_neurons, validation_neurons, test_trials, validation_trials;
};
HeldOutSets held_out_sets(const Masks& m) {
  HeldOutSets sets;
  const auto indices = [](const torch::Tensor& flags) {
    const torch::Tensor i = flags.nonzero().view(-1).contiguous();
    return std::vector<int64_t>(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel());
  };
  sets.test_neurons = indices(m.test.any(0).any(0));
  sets.validation_neurons = indices(m.validation.any(0).any(0));
  sets.test_trials = indices(m.test.any(0).any(1));
  sets.validation_trials = indices(m.validation.any(0).any(1));
  return sets;
}

TEST(Masks, HeldOutNeuronsAreHeldOutOnWholeTrialsAndTrainedEverywhereElse) {
  MaskConfig config;
  config.held_out_neurons = 0.25;
  config.test_fraction = 0.1;
  config.validation_fraction = 0.15;
  config.seed = 4;
  const int64_t T = 12, K = 40, D = 20;
  const Masks m = make_masks(T, K, D, config);
  const HeldOutSets sets = held_out_sets(m);
  // round(0.25 x 20) neurons, the same for testing and validation; ceil(0.1 x 40) test
  // trials and ceil(0.15 x 40) validation trials, apart.
  ASSERT_EQ(sets.test_neurons.size(), 5u);
  EXPECT_EQ(sets.validation_neurons, sets.test_neurons);
  ASSERT_EQ(sets.test_trials.size(), 4u);
  ASSERT_EQ(sets.validation_trials.size(), 6u);
  for (const int64_t k : sets.test_trials)
    EXPECT_EQ(std::count(sets.validation_trials.begin(), sets.validation_trials.end(), k), 0) << k;
  // Every bin of a held-out neuron on a held-out trial is held out; every other entry is
  // trained on (no block shell).
  const auto test = m.test.accessor<bool, 3>(), validation = m.validation.accessor<bool, 3>();
  const auto train = m.train.accessor<bool, 3>();
  const auto contains = [](const std::vector<int64_t>& v, int64_t x) { return std::count(v.begin(), v.end(), x) > 0; };
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < D; ++i) {
        const bool neuron = contains(sets.test_neurons, i);
        ASSERT_EQ(test[t][k][i], neuron && contains(sets.test_trials, k)) << t << "," << k << "," << i;
        ASSERT_EQ(validation[t][k][i], neuron && contains(sets.validation_trials, k)) << t << "," << k << "," << i;
        ASSERT_EQ(train[t][k][i], !test[t][k][i] && !validation[t][k][i]) << t << "," << k << "," << i;
      }
}

TEST(Masks, HeldOutNeuronsAndTestTrialsDependOnTheSeedAloneNotOnTheValidationFraction) {
  MaskConfig config;
  config.held_out_neurons = 0.3;
  const Masks a = make_masks(10, 30, 10, config);
  config.validation_fraction = 0;
  const Masks without_validation = make_masks(10, 30, 10, config);
  EXPECT_TRUE(torch::equal(a.test, without_validation.test));
  EXPECT_FALSE(without_validation.validation.any().item<bool>());
  config.validation_fraction = 0.1;
  EXPECT_TRUE(torch::equal(make_masks(10, 30, 10, config).validation, a.validation));
  config.seed = 1;
  EXPECT_FALSE(torch::equal(make_masks(10, 30, 10, config).test, a.test));
  // held_out_neurons 0 is the block mask.
  config.held_out_neurons = 0;
  EXPECT_TRUE(torch::equal(make_masks(10, 30, 10, config).test, make_block_masks(10, 30, 10, config).test));
}

// The correlated groups of a held-out set (the units of the paired standard error that
// selects ranks): one per validation trial for held-out neurons, however the neurons are
// numbered; the connected groups for blocks.
TEST(Masks, HeldOutNeuronsAreGroupedByTrial) {
  MaskConfig config;
  config.held_out_neurons = 0.3;
  config.validation_fraction = 0.2;
  const Masks m = make_masks(6, 30, 10, config);
  ASSERT_TRUE(m.whole_trials);
  const torch::Tensor groups = held_out_groups(m.validation, m.whole_trials);
  EXPECT_TRUE(torch::equal(groups >= 0, m.validation));
  EXPECT_EQ(groups.max().item<int64_t>() + 1, 6);  // ceil(0.2 x 30) validation trials
  // Every group lies on one trial and holds all of that trial's validation entries.
  for (int64_t g = 0; g < 6; ++g) {
    const torch::Tensor on_trials = (groups == g).any(0).any(1);
    EXPECT_EQ(on_trials.sum().item<int64_t>(), 1) << g;
    const int64_t trial = on_trials.nonzero().item<int64_t>();
    EXPECT_EQ((groups.select(1, trial) == g).sum().item<int64_t>(),
              m.validation.select(1, trial).sum().item<int64_t>());
  }
  const Masks blocks = make_block_masks(10, 30, 10, MaskConfig{});
  EXPECT_FALSE(blocks.whole_trials);
  EXPECT_TRUE(torch::equal(held_out_groups(blocks.validation, false), connected_groups(blocks.validation)));
}

TEST(Masks, HeldOutNeuronsRefuseToHoldOutEveryNeuronOrEveryTrial) {
  const auto message = [](int64_t K, int64_t D, const MaskConfig& config) {
    try {
      make_masks(5, K, D, config);
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  MaskConfig config;
  config.held_out_neurons = 1.0;
  EXPECT_NE(message(20, 10, config).find("/mask/held_out_neurons"), std::string::npos) << message(20, 10, config);
  config.held_out_neurons = 0.9;  // rounds to all 3 neurons
  EXPECT_NE(message(20, 3, config).find("/mask/held_out_neurons: 0.9"), std::string::npos) << message(20, 3, config);
  EXPECT_NE(message(20, 3, config).find("at least one must stay in"), std::string::npos);
  config.held_out_neurons = 0.5;
  config.test_fraction = 0.45;
  config.validation_fraction = 0.45;  // ceil(1.8) + ceil(1.8) = 4 of 4 trials
  EXPECT_NE(message(4, 6, config).find("/mask/test_fraction"), std::string::npos) << message(4, 6, config);
  EXPECT_NE(message(4, 6, config).find("no training trial"), std::string::npos);
  config.held_out_neurons = -0.1;
  EXPECT_NE(message(20, 10, config).find("/mask/held_out_neurons"), std::string::npos);
}

TEST(Masks, ConnectedGroupsJoinNeighboursOnEveryAxis) {
  torch::Tensor mask = torch::zeros({4, 4, 2}, torch::kBool);
  mask[0][0][0] = true;
  mask[0][1][0] = true;  // next to (0, 0, 0) on the trial axis
  mask[3][3][0] = true;
  mask[3][3][1] = true;  // next to (3, 3, 0) on the neuron axis
  mask[2][0][1] = true;  // alone (diagonal neighbours do not count)
  mask[1][1][1] = true;  // alone
  const torch::Tensor groups = connected_groups(mask);
  EXPECT_EQ(groups[0][0][0].item<int64_t>(), 0);
  EXPECT_EQ(groups[0][1][0].item<int64_t>(), 0);
  EXPECT_EQ(groups[1][1][1].item<int64_t>(), 1);  // numbered in flat order of first entries
  EXPECT_EQ(groups[2][0][1].item<int64_t>(), 2);
  EXPECT_EQ(groups[3][3][0].item<int64_t>(), 3);
  EXPECT_EQ(groups[3][3][1].item<int64_t>(), 3);
  EXPECT_EQ((groups >= 0).sum().item<int64_t>(), 6);
  EXPECT_EQ(groups[1][0][0].item<int64_t>(), -1);
  // The default blocks of a validation set: groups of at most a few blocks' entries.
  MaskConfig config;
  const Masks m = make_block_masks(20, 30, 8, config);
  const torch::Tensor v = connected_groups(m.validation);
  const int64_t count = v.max().item<int64_t>() + 1;
  EXPECT_GT(count, 10);
  EXPECT_EQ((v >= 0).sum().item<int64_t>(), m.validation.sum().item<int64_t>());
}

TEST(Masks, TheTestSetDoesNotDependOnTheValidationFraction) {
  // validation_fraction 0 reproduces the masks of a test set alone (the earlier behaviour).
  MaskConfig with;
  with.seed = 2;
  MaskConfig without = with;
  without.validation_fraction = 0;
  const Masks a = make_block_masks(20, 30, 8, with);
  const Masks b = make_block_masks(20, 30, 8, without);
  EXPECT_TRUE(torch::equal(a.test, b.test));
  EXPECT_FALSE(b.validation.any().item<bool>());
  EXPECT_TRUE(a.validation.any().item<bool>());
  // Training loses exactly the validation blocks' outer boxes.
  EXPECT_TRUE(torch::equal(a.train & b.train, a.train));
  EXPECT_TRUE((b.train & ~a.train).any().item<bool>());
}

// mask.fit_preparatory false: no entry of a bin before t = 0 in any set, every other entry
// where the blocks put it; true leaves the masks as they are.
TEST(Masks, UnscoredPreparatoryBinsAreInNoSet) {
  MaskConfig config;
  const int64_t T = 12, K = 20, D = 6;
  const Masks all = make_block_masks(T, K, D, config);
  const torch::Tensor times = torch::arange(T, torch::kFloat64) * 0.1 - 0.35;  // bins 0-3 before t = 0
  EXPECT_TRUE(torch::equal(without_unscored_bins(all, times, config).train, all.train));
  config.fit_preparatory = false;
  const Masks scored = without_unscored_bins(all, times, config);
  for (const auto& [name, set, before] :
       {std::tuple<const char*, torch::Tensor, torch::Tensor>{"train", scored.train, all.train},
        {"validation", scored.validation, all.validation},
        {"test", scored.test, all.test}}) {
    EXPECT_EQ(set.narrow(0, 0, 4).sum().item<int64_t>(), 0) << name;
    EXPECT_TRUE(torch::equal(set.narrow(0, 4, T - 4), before.narrow(0, 4, T - 4))) << name;
  }
  EXPECT_GT(all.test.narrow(0, 0, 4).sum().item<int64_t>(), 0) << "the blocks reach the preparatory bins";
  try {
    without_unscored_bins(all, torch::full({T}, -1.0, torch::kFloat64), config);
    FAIL() << "a dataset with every bin before t = 0 has nothing to score";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("/mask/fit_preparatory"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace ltrnn
