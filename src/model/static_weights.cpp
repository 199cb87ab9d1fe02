// static: one N x N weight matrix for every trial (no learning in the weights).
#include <cmath>

#include "model/families.h"
#include "model/ltrnn_model.h"

namespace ltrnn {

StaticWeightsImpl::StaticWeightsImpl(const ModelConfig& config, const TrialStructure&) {
  const int64_t N = config.hidden;
  weight = register_parameter("weight", 0.5 * torch::randn({N, N}, torch::kFloat64) / std::sqrt(static_cast<double>(N)));
  input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
}

RecurrentWeightsImpl::RecurrentTerm StaticWeightsImpl::recurrent_for(const torch::Tensor&) const {
  const torch::Tensor Wt = weight.t();
  return [Wt](const torch::Tensor& rates) { return rates.matmul(Wt); };
}

torch::Tensor StaticWeightsImpl::dense_weights(const torch::Tensor& trials) const {
  return weight.unsqueeze(0).expand({trials.size(0), weight.size(0), weight.size(1)});
}

std::vector<std::pair<std::string, torch::Tensor>> StaticWeightsImpl::named_factors() const {
  return {{"weights", weight}, {"input_basis", input_basis()}};
}

}  // namespace ltrnn
