// Block cross-validation masks.
#include "data/masks.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "util/errors.h"

namespace ltrnn {

void validate(const MaskConfig& c, const std::string& p) {
  require(c.test_fraction > 0 && c.test_fraction < 0.5, p + "/test_fraction", "must be in (0, 0.5)");
  require(c.validation_fraction >= 0 && c.validation_fraction < 0.5, p + "/validation_fraction", "must be in [0, 0.5)");
  require(c.seed >= 0, p + "/seed", "must be >= 0");
  require(c.held_out_neurons >= 0 && c.held_out_neurons < 1, p + "/held_out_neurons", "must be in [0, 1)");
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

// The entries of one kind of held-out set, as flat 0/1 flags over T x K x D.
struct BlockSets {
  std::array<int64_t, 3> size;
  std::vector<uint8_t> held_out, in_shell, in_test, in_validation;
  int64_t flat(int64_t t, int64_t k, int64_t i) const { return (t * size[1] + k) * size[2] + i; }
};

// Adds blocks until `target` entries are marked in `set` (in_test or in_validation);
// a block whose outer box touches any held-out entry of either set is skipped, so the
// count only grows and the two sets stay apart (docs/design.md section 5).
void add_blocks(BlockSets& s, std::vector<uint8_t>& set, int64_t target, const MaskConfig& config, std::mt19937_64& rng,
                const std::string& field) {
  const int64_t max_blocks = 100000 + 20 * target;  // an impossible target fails instead of hanging
  int64_t count = 0;
  for (int64_t block = 0; count < target; ++block) {
    if (block >= max_blocks)
      throw InputError("/mask/" + field + ": cannot reach a " + field + " of this size with these block sizes; " +
                       "lower test_fraction, validation_fraction or the train_half sizes");
    // 1. A random centre, its outer (held-out) box and inner (scored) box.
    std::array<int64_t, 3> centre;
    for (int a = 0; a < 3; ++a) centre[a] = std::uniform_int_distribution<int64_t>(0, s.size[a] - 1)(rng);
    const Box outer = box_around(centre, config.train_half, s.size);
    const Box inner = box_around(centre, config.test_half, s.size);
    // 2. Blocks do not eat each other's scored entries.
    bool touches = false;
    for_each_entry(outer, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = s.flat(t, k, i);
      touches = touches || s.in_test[f] || s.in_validation[f];
    });
    if (touches) continue;
    // 3. Hold out the outer box; the shell (outer minus inner) is in no set.
    for_each_entry(outer, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = s.flat(t, k, i);
      s.held_out[f] = 1;
      const bool inside = t >= inner.lo[0] && t <= inner.hi[0] && k >= inner.lo[1] && k <= inner.hi[1] &&
                          i >= inner.lo[2] && i <= inner.hi[2];
      if (!inside) s.in_shell[f] = 1;
    });
    // 4. The inner box joins the set, except entries an earlier block's shell covers.
    for_each_entry(inner, [&](int64_t t, int64_t k, int64_t i) {
      const int64_t f = s.flat(t, k, i);
      if (!set[f] && !s.in_shell[f]) {
        set[f] = 1;
        ++count;
      }
    });
  }
}

torch::Tensor as_mask(std::vector<uint8_t>& flags, const std::array<int64_t, 3>& size) {
  return torch::from_blob(flags.data(), {size[0], size[1], size[2]}, torch::kUInt8).to(torch::kBool);
}

}  // namespace

Masks make_block_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config) {
  validate(config, "/mask");
  const int64_t total = T * K * D;
  BlockSets s{{T, K, D}, {}, {}, {}, {}};
  for (auto* flags : {&s.held_out, &s.in_shell, &s.in_test, &s.in_validation}) flags->assign(total, 0);
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed));
  // Test blocks first, from the seed alone, so the test set does not depend on the
  // validation fraction; then validation blocks from the same stream.
  add_blocks(s, s.in_test, static_cast<int64_t>(std::ceil(config.test_fraction * total)), config, rng, "test_fraction");
  add_blocks(s, s.in_validation, static_cast<int64_t>(std::ceil(config.validation_fraction * total)), config, rng,
             "validation_fraction");
  return Masks{~as_mask(s.held_out, s.size), as_mask(s.in_validation, s.size), as_mask(s.in_test, s.size)};
}

namespace {

// The first `count` entries of a seeded random permutation of 0..n-1: Fisher-Yates from the
// front, stopped after `count` swaps, so the first m entries are the same for every count >= m.
std::vector<int64_t> draw_without_replacement(int64_t n, int64_t count, std::mt19937_64& rng) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = std::uniform_int_distribution<int64_t>(i, n - 1)(rng);
    std::swap(order[i], order[j]);
  }
  order.resize(count);
  return order;
}

// The held-out neurons' entries on the given trials, every bin.
torch::Tensor neurons_on_trials(int64_t T, int64_t K, int64_t D, const std::vector<int64_t>& neurons,
                                const std::vector<int64_t>& trials) {
  torch::Tensor on_neuron = torch::zeros({D}, torch::kBool), on_trial = torch::zeros({K}, torch::kBool);
  for (const int64_t i : neurons) on_neuron[i] = true;
  for (const int64_t k : trials) on_trial[k] = true;
  return (on_trial.view({1, K, 1}) & on_neuron.view({1, 1, D})).expand({T, K, D}).contiguous();
}

}  // namespace

Masks make_held_out_neuron_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config) {
  validate(config, "/mask");
  const auto held_out = std::max<int64_t>(1, std::llround(config.held_out_neurons * static_cast<double>(D)));
  if (held_out >= D) {
    std::ostringstream fraction;
    fraction << config.held_out_neurons;
    throw InputError("/mask/held_out_neurons: " + fraction.str() + " of " + std::to_string(D) +
                     " neurons holds out every neuron; at least one must stay in to predict them");
  }
  const auto test_trials = static_cast<int64_t>(std::ceil(config.test_fraction * static_cast<double>(K)));
  const auto validation_trials = static_cast<int64_t>(std::ceil(config.validation_fraction * static_cast<double>(K)));
  if (test_trials + validation_trials >= K)
    throw InputError(
        std::string(test_trials >= K ? "/mask/test_fraction" : "/mask/test_fraction and /mask/validation_fraction") +
        ": " + std::to_string(test_trials) + " test and " + std::to_string(validation_trials) +
        " validation trials of " + std::to_string(K) + " leave no training trial for the held-out neurons' readout");
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed));
  const std::vector<int64_t> neurons = draw_without_replacement(D, held_out, rng);
  // One permutation of the trials: its first test_trials are the test trials, the next
  // validation_trials the validation trials, so the test set is the same for every
  // validation_fraction.
  const std::vector<int64_t> trials = draw_without_replacement(K, test_trials + validation_trials, rng);
  const torch::Tensor test = neurons_on_trials(T, K, D, neurons, {trials.begin(), trials.begin() + test_trials});
  const torch::Tensor validation = neurons_on_trials(T, K, D, neurons, {trials.begin() + test_trials, trials.end()});
  return Masks{~(test | validation), validation, test, /*whole_trials=*/true};
}

Masks make_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config) {
  return config.held_out_neurons > 0 ? make_held_out_neuron_masks(T, K, D, config) : make_block_masks(T, K, D, config);
}

torch::Tensor connected_groups(const torch::Tensor& mask) {
  const torch::Tensor m = mask.to(torch::kBool).contiguous();
  const int64_t T = m.size(0), K = m.size(1), D = m.size(2);
  const bool* in = m.data_ptr<bool>();
  torch::Tensor labels = torch::full({T, K, D}, -1, torch::kInt64);
  int64_t* label = labels.data_ptr<int64_t>();
  const int64_t strides[3] = {K * D, D, 1}, sizes[3] = {T, K, D};
  int64_t next = 0;
  std::vector<int64_t> stack;
  for (int64_t start = 0; start < T * K * D; ++start) {
    if (!in[start] || label[start] >= 0) continue;
    // Flood fill from `start` over the six neighbours of each entry.
    label[start] = next;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int64_t f = stack.back();
      stack.pop_back();
      for (int a = 0; a < 3; ++a) {
        const int64_t coordinate = (f / strides[a]) % sizes[a];
        for (int64_t step : {-1, 1}) {
          if (coordinate + step < 0 || coordinate + step >= sizes[a]) continue;
          const int64_t g = f + step * strides[a];
          if (in[g] && label[g] < 0) {
            label[g] = next;
            stack.push_back(g);
          }
        }
      }
    }
    ++next;
  }
  return labels;
}

torch::Tensor held_out_groups(const torch::Tensor& mask, bool whole_trials) {
  if (!whole_trials) return connected_groups(mask);
  const torch::Tensor m = mask.to(torch::kBool);
  const torch::Tensor trials_held_out = m.any(0).any(1);  // [K]
  const torch::Tensor group_of_trial = trials_held_out.to(torch::kInt64).cumsum(0) - 1;
  const torch::Tensor groups = group_of_trial.view({1, -1, 1}).expand(m.sizes());
  return torch::where(m, groups, torch::full_like(groups, -1));
}

Masks without_unscored_bins(Masks masks, const torch::Tensor& times, const MaskConfig& config) {
  if (config.fit_preparatory) return masks;
  const torch::Tensor preparatory = times < 0;
  if (preparatory.all().item<bool>())
    throw InputError("/mask/fit_preparatory: false leaves no bin to score (every time of the dataset is < 0)");
  const auto T = times.size(0);
  const torch::Tensor excluded = preparatory.view({T, 1, 1}).expand_as(masks.train);
  masks.train = masks.train & ~excluded;
  masks.validation = masks.validation & ~excluded;
  masks.test = masks.test & ~excluded;
  return masks;
}

Masks without_missing(Masks masks, const torch::Tensor& missing) {
  if (!missing.defined()) return masks;
  masks.train = masks.train & ~missing;
  masks.validation = masks.validation & ~missing;
  masks.test = masks.test & ~missing;
  return masks;
}

}  // namespace ltrnn
