// Block cross-validation masks.
#include "data/masks.h"

#include <torch/torch.h>

#include <random>

#include "util/errors.h"

namespace ltrnn {

void validate(const MaskConfig& c, const std::string& p) {
  require(c.test_fraction > 0 && c.test_fraction < 0.5, p + "/test_fraction", "must be in (0, 0.5)");
  for (int a = 0; a < 3; ++a) {
    require(c.test_half[a] >= 0, p + "/test_half", "half-sizes must be >= 0");
    require(c.test_half[a] <= c.train_half[a], p + "/test_half",
            "each test half-size must be <= the train half-size on the same axis");
  }
}

namespace {
struct Box {
  std::array<int64_t, 3> lo, hi;  // inclusive bounds
};

Box box_around(const std::array<int64_t, 3>& centre, const std::array<int64_t, 3>& half,
               const std::array<int64_t, 3>& size) {
  Box b;
  for (int a = 0; a < 3; ++a) {
    b.lo[a] = std::max<int64_t>(0, centre[a] - half[a]);
    b.hi[a] = std::min<int64_t>(size[a] - 1, centre[a] + half[a]);
  }
  return b;
}

template <typename F>
void for_each_entry(const Box& b, F&& f) {
  for (int64_t t = b.lo[0]; t <= b.hi[0]; ++t)
    for (int64_t k = b.lo[1]; k <= b.hi[1]; ++k)
      for (int64_t i = b.lo[2]; i <= b.hi[2]; ++i) f(t, k, i);
}
}  // namespace

Masks make_block_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config) {
  validate(config, "/mask");
  const std::array<int64_t, 3> size{T, K, D};
  const int64_t total = T * K * D;
  const auto flat = [&](int64_t t, int64_t k, int64_t i) { return (t * K + k) * D + i; };
  // held_out: in some block's outer box; in_shell: outer minus inner box; in_test: the test set.
  std::vector<uint8_t> held_out(total, 0), in_test(total, 0), in_shell(total, 0);
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed));
  const auto target = static_cast<int64_t>(std::ceil(config.test_fraction * total));
  int64_t test_count = 0;
  // Cap the attempts so an impossible target fails with a message instead of hanging.
  const int64_t max_blocks = 100000 + 20 * target;
  for (int64_t block = 0; test_count < target; ++block) {
    if (block >= max_blocks)
      throw InputError("/mask/test_fraction: cannot reach a test fraction of " + std::to_string(config.test_fraction) +
                       " with these block sizes; lower test_fraction or the train_half sizes");
    // 1. A random centre, its outer (held-out) box and inner (test) box.
    std::array<int64_t, 3> centre;
    for (int a = 0; a < 3; ++a) centre[a] = std::uniform_int_distribution<int64_t>(0, size[a] - 1)(rng);
    const Box outer = box_around(centre, config.train_half, size);
    const Box inner = box_around(centre, config.test_half, size);
    // 2. Blocks do not eat each other's test entries: skip a block whose outer box
    //    touches an existing test entry (so the test count only grows).
    bool touches_test = false;
    for_each_entry(outer, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = flat(t, k, i);
      touches_test = touches_test || in_test[f];
    });
    if (touches_test) continue;
    // 3. Hold out the outer box; the shell (outer minus inner) is in neither set.
    for_each_entry(outer, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = flat(t, k, i);
      held_out[f] = 1;
      const bool inside = t >= inner.lo[0] && t <= inner.hi[0] && k >= inner.lo[1] && k <= inner.hi[1] &&
                          i >= inner.lo[2] && i <= inner.hi[2];
      if (!inside) in_shell[f] = 1;
    });
    // 4. The inner box is test, except entries an earlier block's shell covers.
    for_each_entry(inner, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = flat(t, k, i);
      if (!in_test[f] && !in_shell[f]) {
        in_test[f] = 1;
        ++test_count;
      }
    });
  }
  torch::Tensor held = torch::from_blob(held_out.data(), {T, K, D}, torch::kUInt8).to(torch::kBool);
  torch::Tensor test = torch::from_blob(in_test.data(), {T, K, D}, torch::kUInt8).to(torch::kBool);
  return Masks{~held, test};
}

Masks without_missing(Masks masks, const torch::Tensor& missing) {
  if (!missing.defined()) return masks;
  masks.train = masks.train & ~missing;
  masks.test = masks.test & ~missing;
  return masks;
}

}  // namespace ltrnn
