// matrix_rank: W(k) = U(k) V(k)^T with per-trial N x R factors, GP-smooth over trials.
#include <cmath>

#include "model/families.h"
#include "model/ltrnn_model.h"

namespace ltrnn {

MatrixRankWeightsImpl::MatrixRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure)
    : hidden(config.hidden), rank(config.rank) {
  const int64_t N = config.hidden, R = config.rank;
  // Columns of norm about 1, as the tensor-rank factors start.
  const double scale = 1.0 / std::sqrt(static_cast<double>(N));
  left = register_module("left_factors", TrialValues(config, structure.trial_id, structure.epoch,
                                                    scale * torch::randn({N * R}, torch::kFloat64), 0.0));
  right = register_module("right_factors", TrialValues(config, structure.trial_id, structure.epoch,
                                                      scale * torch::randn({N * R}, torch::kFloat64), 0.0));
  input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
}

RecurrentWeightsImpl::RecurrentTerm MatrixRankWeightsImpl::recurrent_for(const torch::Tensor& trials) const {
  const int64_t k = trials.size(0);
  const torch::Tensor U = left->values(trials).view({k, hidden, rank});
  const torch::Tensor V = right->values(trials).view({k, hidden, rank});
  // U(k) (V(k)^T phi): O(k N R).
  // Broadcast products and sums rather than K tiny batched GEMMs (see full.cpp).
  return [U, V](const torch::Tensor& rates) {
    const torch::Tensor projected = (V * rates.unsqueeze(2)).sum(1);  // V(k)^T phi_k [k, R]
    return (U * projected.unsqueeze(1)).sum(2);                       // U(k) (...)  [k, N]
  };
}

torch::Tensor MatrixRankWeightsImpl::dense_weights(const torch::Tensor& trials) const {
  const int64_t k = trials.size(0);
  const torch::Tensor U = left->values(trials).view({k, hidden, rank});
  const torch::Tensor V = right->values(trials).view({k, hidden, rank});
  return U.bmm(V.transpose(1, 2));
}

std::vector<std::pair<std::string, torch::Tensor>> MatrixRankWeightsImpl::named_factors() const {
  const int64_t K = left->values().size(0);
  return {{"left_factors", left->values().view({K, hidden, rank})},
          {"right_factors", right->values().view({K, hidden, rank})},
          {"input_basis", input_basis()}};
}

}  // namespace ltrnn
