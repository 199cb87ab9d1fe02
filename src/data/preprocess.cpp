// Preprocessing: Gaussian smoothing over time, then z-scoring.
#include "data/preprocess.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "util/errors.h"

namespace ltrnn {

void validate(const PreprocessConfig& c, const std::string& p) {
  require(c.smooth_sigma >= 0, p + "/smooth_sigma", "must be >= 0");
}

Dataset preprocess(const Dataset& input, const PreprocessConfig& config) {
  if (input.missing.defined() && (config.smooth_sigma > 0 || config.zscore))
    throw InputError("/preprocess: smoothing and z-scoring need every entry observed, and this dataset has " +
                     std::to_string(input.missing.sum().item<int64_t>()) +
                     " missing entries; fit the counts as they are (Poisson loss)");
  Dataset ds = input;
  if (input.counts && (config.smooth_sigma > 0 || config.zscore))
    ds.notes.push_back(std::string(config.smooth_sigma > 0 ? "smoothing" : "z-scoring") +
                       " turns the spike counts into rates: the loss is mean squared error, not Poisson, and no "
                       "bits per spike are reported");
  if (config.smooth_sigma > 0) {
    // Gaussian kernel truncated at 4 sigma, applied along time with reflected edges.
    const int64_t half = static_cast<int64_t>(std::ceil(4 * config.smooth_sigma));
    torch::Tensor offsets = torch::arange(-half, half + 1, torch::kFloat64);
    torch::Tensor kernel = torch::exp(-0.5 * (offsets / config.smooth_sigma).pow(2));
    kernel = kernel / kernel.sum();
    const int64_t T = ds.n_bins();
    torch::Tensor smoothed = torch::zeros_like(ds.data);
    for (int64_t s = -half; s <= half; ++s) {
      std::vector<int64_t> source(T);
      for (int64_t t = 0; t < T; ++t) {
        int64_t u = t + s;
        if (T == 1) u = 0;
        while (u < 0 || u >= T) u = u < 0 ? -u - 1 : 2 * T - u - 1;  // reflect about the edges
        source[t] = u;
      }
      smoothed += kernel[s + half] * ds.data.index_select(0, torch::tensor(source, torch::kInt64));
    }
    ds.data = smoothed;
    ds.counts = false;  // smoothed counts are rates
  }
  if (config.zscore) {
    torch::Tensor mean = ds.data.mean(torch::IntArrayRef{0, 1}, /*keepdim=*/true);
    torch::Tensor std = ds.data.std(torch::IntArrayRef{0, 1}, /*unbiased=*/false, /*keepdim=*/true);
    ds.data = (ds.data - mean) / torch::where(std > 0, std, torch::ones_like(std));
    ds.counts = false;
  }
  return ds;
}

}  // namespace ltrnn
