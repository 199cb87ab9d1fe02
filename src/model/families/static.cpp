// static: one N x N weight matrix for every trial (no learning in the weights).
#include <cmath>

#include "model/family.h"
#include "model/ltrnn_model.h"

namespace ltrnn {
namespace {

class StaticWeightsImpl : public RecurrentWeightsImpl {
 public:
  StaticWeightsImpl(const ModelConfig& config, const TrialStructure&) {
    const int64_t N = config.hidden;
    weight =
        register_parameter("weight", 0.5 * torch::randn({N, N}, torch::kFloat64) / std::sqrt(static_cast<double>(N)));
    input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
  }

  RecurrentTerm recurrent_for(const torch::Tensor&) const override {
    const torch::Tensor Wt = weight.t();
    return [Wt](const torch::Tensor& rates) { return rates.matmul(Wt); };
  }

  // One W for every trial: the fused integrator reads it in place and sums its gradient.
  std::optional<FusedWeights> fused_weights(const torch::Tensor&) const override { return FusedWeights::dense(weight); }

  torch::Tensor dense_weights(const torch::Tensor& trials) const override {
    return weight.unsqueeze(0).expand({trials.size(0), weight.size(0), weight.size(1)});
  }

  torch::Tensor input_basis() const override { return unit_columns(input_raw); }

  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override {
    return {{"weights", weight}, {"input_basis", input_basis()}};
  }

  torch::Tensor weight;     // W [N, N]
  torch::Tensor input_raw;  // [N, R_in]
};

}  // namespace

FamilyTraits static_family() {
  FamilyTraits traits;
  traits.weights_formula = "W(k) = W for every trial (no learning); N^2 weight parameters";
  traits.make_weights = [](const ModelConfig& config, const TrialStructure& structure) {
    return std::make_shared<StaticWeightsImpl>(config, structure);
  };
  traits.torchscript_methods = R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.weight]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return rates.matmul(selected[0].t())

  def weights(self, trials: Tensor) -> Tensor:
    return self.weight.unsqueeze(0).repeat(trials.size(0), 1, 1)
)";
  traits.torchscript_buffer_names = {{"weights", "weight"}};
  // One N x N product per trial.
  traits.recurrent_flop = [](double K, double N, double) { return 2 * K * N * N; };
  // The fused integrator keeps only the states every family keeps (train/memory.cpp).
  traits.saved_per_evaluation = [](double, double, double) { return 0.0; };
  traits.weight_parameters = [](double, double N, double) { return N * N; };
  traits.connectivity_view = ConnectivityView::Fixed;
  return traits;
}

}  // namespace ltrnn
