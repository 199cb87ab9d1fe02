// static: one N x N weight matrix for every trial (no learning in the weights).
#include <cmath>
#include <memory>

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

class StaticFamily final : public FamilyTraits {
 public:
  std::string weights_formula() const override {
    return "W(k) = W for every trial (no learning); N^2 weight parameters";
  }
  bool has_rank() const override { return false; }
  bool has_components() const override { return false; }
  bool inputs_in_column_space() const override { return false; }
  std::shared_ptr<RecurrentWeightsImpl> make_weights(const ModelConfig& config,
                                                     const TrialStructure& structure) const override {
    return std::make_shared<StaticWeightsImpl>(config, structure);
  }
  std::string torchscript_methods() const override {
    return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.weight]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return rates.matmul(selected[0].t())

  def weights(self, trials: Tensor) -> Tensor:
    return self.weight.unsqueeze(0).repeat(trials.size(0), 1, 1)
)";
  }
  std::map<std::string, std::string> torchscript_buffer_names() const override { return {{"weights", "weight"}}; }
  // One N x N product per trial.
  double recurrent_flop(double K, double N, double) const override { return 2 * K * N * N; }
  // The fused integrator keeps only the states every family keeps (train/memory.cpp).
  double saved_per_evaluation(double, double, double) const override { return 0.0; }
  double weight_parameters(double, double N, double) const override { return N * N; }
  double weight_intermediates(double, double, double) const override { return 0.0; }
  ConnectivityView connectivity_view() const override { return ConnectivityView::Fixed; }
};

}  // namespace

std::unique_ptr<FamilyTraits> static_family() { return std::make_unique<StaticFamily>(); }

}  // namespace ltrnn
