// Block cross-validation masks: disjoint, boundaries in neither set, target test fraction.
#include "data/masks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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
}

}  // namespace
}  // namespace ltrnn
