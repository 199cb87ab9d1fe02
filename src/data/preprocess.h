// Optional preprocessing of a dataset before fitting (smoothing, z-scoring).
#pragma once
#include <string>

#include "data/dataset.h"

namespace ltrnn {

struct PreprocessConfig {
  double smooth_sigma = 0.0;         // Gaussian smoothing over time, std in bins (0: none)
  bool zscore = false;               // z-score each neuron over time and trials
  NanPolicy nan = NanPolicy::Error;  // NaN in float data: an error, or missing entries

  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("smooth_sigma", c.smooth_sigma, "Gaussian smoothing over time: std in bins; 0 = none");
    v.field("zscore", c.zscore, "z-score each neuron over time and trials");
    v.field("nan", c.nan,
            "what NaN in a float data array means: an error (default), or an entry that was not observed (missing: in "
            "no set, never trained on or scored)");
  }
};

// Checks values a JSON type cannot; InputError naming `pointer` + "/field".
void validate(const PreprocessConfig& c, const std::string& pointer);

// In this order: Gaussian smoothing over time (std `smooth_sigma` bins, reflected edges),
// then z-scoring of each neuron over (time, trial). Either turns counts into rates.
Dataset preprocess(const Dataset& dataset, const PreprocessConfig& config);

}  // namespace ltrnn
