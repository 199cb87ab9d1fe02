// full: a free N x N weight matrix per trial, GP-smooth over trials (full tensor rank).
#include <cmath>

#include "model/families.h"
#include "model/ltrnn_model.h"

namespace ltrnn {

FullWeightsImpl::FullWeightsImpl(const ModelConfig& config, const TrialStructure& structure) : hidden(config.hidden) {
  const int64_t N = config.hidden;
  // Mean weights W0 ~ N(0, 0.25 / N): spectral radius about 0.5, decaying dynamics at the start.
  const torch::Tensor w0 = 0.5 * torch::randn({N * N}, torch::kFloat64) / std::sqrt(static_cast<double>(N));
  trial_weights = register_module("trial_weights", TrialValues(config, structure.trial_id, structure.epoch, w0,
                                                              /*latent_scale=*/0.0));
  input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
}

RecurrentWeightsImpl::RecurrentTerm FullWeightsImpl::recurrent_for(const torch::Tensor& trials) const {
  const torch::Tensor W = dense_weights(trials);  // [k, N, N]
  // W(k) phi_k as a broadcast product and row sums: one vectorised kernel for all trials
  // (a batched GEMM of K matrix-vector products pays a per-matrix overhead K times).
  return [W](const torch::Tensor& rates) { return (W * rates.unsqueeze(1)).sum(2); };
}

torch::Tensor FullWeightsImpl::dense_weights(const torch::Tensor& trials) const {
  return trial_weights->values(trials).view({trials.size(0), hidden, hidden});
}

std::vector<std::pair<std::string, torch::Tensor>> FullWeightsImpl::named_factors() const {
  const int64_t K = trial_weights->values().size(0);
  return {{"weights", trial_weights->values().view({K, hidden, hidden})}, {"input_basis", input_basis()}};
}

}  // namespace ltrnn
