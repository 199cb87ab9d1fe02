// Block cross-validation masks over (time, trial, neuron), DESIGN section 1.
#pragma once
#include <torch/types.h>

#include "experiment/config.h"

namespace ltrnn {

struct Masks {
  torch::Tensor train;  // [T, K, D] bool: entries the loss is trained on
  torch::Tensor test;   // [T, K, D] bool: held-out entries the score is computed on
};

// Places blocks at seeded random centres until the test set reaches
// config.test_fraction of all entries. Each block removes the box of half-sizes
// train_half around its centre from training; the inner box of half-sizes test_half
// is test; the shell between them (the block boundary) is in neither set, so a test
// entry never has a training entry right next to it.
Masks make_block_masks(int64_t T, int64_t K, int64_t D, const MaskConfig& config);

}  // namespace ltrnn
