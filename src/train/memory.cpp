// The peak-memory estimate of a fit (train/memory.h).
#include "train/memory.h"

#include <algorithm>

#include "model/butcher_tableau.h"
#include "model/family.h"

namespace ltrnn {

namespace {

// Calibration on B1 and its doubling series (`ltrnn bench --scaling`, float32, Heun): peak
// MiB = 160 + 95 bytes per data entry + 4.3 numbers per state (trial x unit x drift
// evaluation) + the family's part; within 5% of every measured tensor_rank row (278-1108
// MiB) and of the other families' B1 rows.
constexpr double kRuntimeBytes = 160.0 * 1024 * 1024;  // LibTorch, OpenBLAS buffers, the program
constexpr double kBytesPerDataEntry = 95;              // float64 data, masks, loss weights, predictions
constexpr double kNumbersPerState = 4.3;               // states and stage values kept for the backward pass
constexpr double kCopiesOfWeights = 6;                 // value, gradient, Adam's two moments, best iterate, checkpoint

}  // namespace

double estimate_peak_bytes(const ModelConfig& model, const TrainConfig& train, const DataSizes& sizes) {
  const double bytes_per_number = train.float64 ? 8 : 4;
  const double K = static_cast<double>(sizes.trials), N = static_cast<double>(model.hidden),
               R = static_cast<double>(model.rank);
  const double evaluations = static_cast<double>(butcher_tableau(model.solver).stages() * model.substeps) *
                             static_cast<double>(std::max<int64_t>(sizes.bins - 1, 1));
  const FamilyTraits& family = family_traits(model.kind);
  const double data = kBytesPerDataEntry * static_cast<double>(sizes.bins) * K * static_cast<double>(sizes.neurons);
  // A learnt tau keeps each stage's state too (model/fused_integration.cpp).
  const double numbers_per_state = kNumbersPerState + (model.learn_tau ? 1.0 : 0.0);
  const double states = numbers_per_state * evaluations * K * N * bytes_per_number;
  const double own = (family.saved_per_evaluation(K, N, R) * evaluations +
                      kCopiesOfWeights * family.weight_parameters(K, N, R) + family.weight_intermediates(K, N, R)) *
                     bytes_per_number;
  return kRuntimeBytes + data + states + own;
}

}  // namespace ltrnn
