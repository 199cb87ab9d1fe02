// Block cross-validation masks over (time, trial, neuron) (docs/design.md section 5).
#pragma once
#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>

namespace ltrnn {

// Where the held-out blocks go: their target share of the entries, their sizes, the seed.
struct MaskConfig {
  double test_fraction = 0.1;                  // target fraction of entries in the test set
  double validation_fraction = 0.1;            // target fraction in the validation set (0: none)
  std::array<int64_t, 3> train_half{3, 2, 0};  // held-out block half-sizes (time, trial, neuron)
  std::array<int64_t, 3> test_half{2, 1, 0};   // test block half-sizes, <= train_half
  int64_t seed = 0;
  bool fit_preparatory = true;  // score the bins with t < 0 (false: in no set)
  double held_out_neurons = 0;  // > 0: co-smoothing masks, this fraction of neurons held out on held-out trials

  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("test_fraction", c.test_fraction,
            "target fraction of entries in the test set (with held_out_neurons: the fraction of trials whose "
            "held-out neurons are tested)");
    v.field("validation_fraction", c.validation_fraction,
            "target fraction of entries in the validation set, drawn like the test blocks and apart from them (with "
            "held_out_neurons: the fraction of trials); fits stop and ranks are selected on it, the test set is only "
            "reported");
    v.field("train_half", c.train_half, "half-sizes (time, trial, neuron) of the blocks held out from training");
    v.field("test_half", c.test_half, "half-sizes of the test block inside each held-out block, each <= train_half");
    v.field("seed", c.seed, "seed of the block placement");
    v.field("fit_preparatory", c.fit_preparatory,
            "score the preparatory period (the bins with t < 0): its entries join the training, validation and test "
            "sets; false: none of them, as the reference's fit_preparatory=False, and the bins before t = 0 only carry "
            "the state to t = 0");
    v.field("held_out_neurons", c.held_out_neurons,
            "0: block masks; > 0: co-smoothing masks (the Neural Latents Benchmark's held-out neurons): this "
            "fraction of the neurons is held out on whole held-out trials (test_fraction of the trials for testing, "
            "validation_fraction for validation) and predicted from the other neurons; their readout is fitted on "
            "the training trials only");
  }
};

// Checks values a JSON type cannot; InputError naming `pointer` + "/field".
void validate(const MaskConfig& c, const std::string& pointer);

struct Masks {
  torch::Tensor train;       // [T, K, D] bool: entries the loss is trained on
  torch::Tensor validation;  // [T, K, D] bool: held-out entries that stop fits and select ranks
  torch::Tensor test;        // [T, K, D] bool: held-out entries that are only reported
  // Held-out sets of whole trials (co-smoothing): a trial's held-out entries all follow that
  // trial's fitted state, so they form one correlated group (held_out_groups).
  bool whole_trials = false;
};

// Places blocks at seeded random centres until the test set reaches
// config.test_fraction of all entries, then validation blocks the same way until the
// validation set reaches config.validation_fraction. Each block removes the box of
// half-sizes train_half around its centre from training; the inner box of half-sizes
// test_half is test (or validation); the shell between them (the block boundary) is in no
// set, so a held-out entry never has a training entry right next to it. The test blocks
// do not depend on validation_fraction (0 gives the masks of a test set alone, and an
// all-false validation mask).
Masks make_block_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config);

// Co-smoothing masks (docs/design.md section 5, "Held-out neurons"): round(held_out_neurons
// x D) neurons (at least one, and at least one left in) are drawn from the seed, then
// ceil(test_fraction x K) test trials and ceil(validation_fraction x K) validation trials.
// Test (validation) = the held-out neurons' entries on the test (validation) trials, every
// bin; training = every other entry, so a held-out neuron's readout is fitted on the
// training trials and the held-out trials' states are fitted from the held-in neurons. The
// neurons and the test trials do not depend on validation_fraction. InputError naming
// /mask/held_out_neurons or /mask/test_fraction when no neuron or no training trial is left.
Masks make_held_out_neuron_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config);

// The masks config asks for: held-out neurons when config.held_out_neurons > 0, else blocks.
Masks make_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config);

// The connected groups of a mask's entries (6-connectivity over time, trial and neuron):
// [T, K, D] int64, -1 off the mask, else 0..n-1 numbered in flat order of each group's
// first entry. Held-out entries of one block are correlated; these groups are the units
// of a block-robust standard error (docs/design.md section 5). Touching blocks merge,
// which only makes that error more conservative.
torch::Tensor connected_groups(const torch::Tensor& mask);

// The correlated groups of a held-out set, the units of its block-robust standard error, in
// connected_groups' form: its connected groups for block masks; for whole-trial masks (held-out
// neurons) one group per trial, numbered in trial order, since neighbouring neuron indices mean
// nothing and every held-out neuron of a trial is predicted from that trial's one state.
torch::Tensor held_out_groups(const torch::Tensor& mask, bool whole_trials);

// The masks without the entries `missing` [T, K, D] marks (undefined: unchanged): a missing
// entry is neither trained on nor scored.
Masks without_missing(Masks masks, const torch::Tensor& missing);
// Without the entries of the preparatory period (the bins whose `times` [T] are < 0) unless
// config.fit_preparatory; the blocks stay where they were placed. InputError naming
// /mask/fit_preparatory when that leaves no bin.
Masks without_unscored_bins(Masks masks, const torch::Tensor& times, const MaskConfig& config);

}  // namespace ltrnn
