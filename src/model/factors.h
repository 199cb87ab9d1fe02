// The factor set of a low-tensor-rank weight tensor, as a value type (docs/design.md section 2):
// W(k) = sum_r trial[k, r] column[:, r] row[:, r]^T.
#pragma once
#include <torch/types.h>

namespace ltrnn {

struct TensorRankFactors {
  torch::Tensor column;  // A [N, R], unit-norm columns
  torch::Tensor row;     // B [N, R], unit-norm columns
  torch::Tensor trial;   // c [K, R]

  int64_t rank() const { return column.size(1); }
  // W(k) for every trial: [K, N, N]. Dense: for tests, export and analysis only.
  torch::Tensor weights() const;
};

}  // namespace ltrnn
