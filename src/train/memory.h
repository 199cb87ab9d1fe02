// An estimate of a fit's peak memory from the sizes alone, so that a plan can refuse a run
// the machine cannot hold before anything is allocated (docs/design.md section 4).
#pragma once
#include <cstdint>

#include "model/config.h"
#include "train/config.h"

namespace ltrnn {

// The sizes of a dataset: T x K x D.
struct DataSizes {
  int64_t bins = 0, trials = 0, neurons = 0;
};

// Peak resident bytes of fitting `model` on data of `sizes`: the runtime, the data and its
// masks, the states every family keeps for the backward pass, and the family's own part
// (FamilyTraits::saved_per_evaluation, weight_parameters). Calibrated against `ltrnn bench`
// (its table prints this estimate beside the measured peak).
double estimate_peak_bytes(const ModelConfig& model, const TrainConfig& train, const DataSizes& sizes);

}  // namespace ltrnn
