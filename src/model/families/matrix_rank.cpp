// matrix_rank: W(k) = U(k) V(k)^T with per-trial N x R factors, GP-smooth over trials.
#include <cmath>
#include <memory>

#include "model/family.h"
#include "model/ltrnn_model.h"
#include "model/trial_prior.h"

namespace ltrnn {
namespace {

// U(k), V(k) [N, R], each smoothed over trials by the trial prior as [K, N*R] values.
class MatrixRankWeightsImpl : public RecurrentWeightsImpl {
 public:
  MatrixRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure)
      : hidden(config.hidden), rank(config.rank) {
    const int64_t N = config.hidden, R = config.rank;
    // Columns of norm about 1, as the tensor-rank factors start.
    const double scale = 1.0 / std::sqrt(static_cast<double>(N));
    const TrialPriorConfig prior = config.trial_prior_config();
    left = register_module("left_factors", TrialValues(prior, structure.trial_id, structure.epoch, structure.session,
                                                       scale * torch::randn({N * R}, torch::kFloat64), 0.0));
    right = register_module("right_factors", TrialValues(prior, structure.trial_id, structure.epoch, structure.session,
                                                         scale * torch::randn({N * R}, torch::kFloat64), 0.0));
    input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
  }

  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override {
    const int64_t k = trials.size(0);
    const torch::Tensor U = left->values(trials).view({k, hidden, rank});
    const torch::Tensor V = right->values(trials).view({k, hidden, rank});
    // U(k) (V(k)^T phi): O(k N R). Broadcast products and sums rather than K tiny batched
    // GEMMs (see full.cpp).
    return [U, V](const torch::Tensor& rates) {
      const torch::Tensor projected = (V * rates.unsqueeze(2)).sum(1);  // V(k)^T phi_k [k, R]
      return (U * projected.unsqueeze(1)).sum(2);                       // U(k) (...)  [k, N]
    };
  }

  // The fused integrator's low-rank path with each trial's own factors (and c = 1).
  std::optional<FusedWeights> fused_weights(const torch::Tensor& trials) const override {
    const int64_t k = trials.size(0);
    return FusedWeights::per_trial_low_rank(left->values(trials).view({k, hidden, rank}),
                                            right->values(trials).view({k, hidden, rank}));
  }

  torch::Tensor dense_weights(const torch::Tensor& trials) const override {
    const int64_t k = trials.size(0);
    const torch::Tensor U = left->values(trials).view({k, hidden, rank});
    const torch::Tensor V = right->values(trials).view({k, hidden, rank});
    return U.bmm(V.transpose(1, 2));
  }

  torch::Tensor input_basis() const override { return unit_columns(input_raw); }

  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override {
    const int64_t K = left->values().size(0);
    return {{"left_factors", left->values().view({K, hidden, rank})},
            {"right_factors", right->values().view({K, hidden, rank})},
            {"input_basis", input_basis()}};
  }

  int64_t hidden, rank;
  TrialValues left{nullptr}, right{nullptr};  // U, V as [K, N*R]
  torch::Tensor input_raw;                    // [N, R_in]
};

class MatrixRankFamily final : public FamilyTraits {
 public:
  std::string weights_formula() const override {
    return "W(k) = U(k) V(k)^T, U, V N x R, GP-smooth over trials; 2 K N R weight parameters";
  }
  bool has_rank() const override { return true; }
  // U(k), V(k) are per-trial values with the rank axis inside a flattened [N*R] axis: not
  // (yet) sliced by component, so the ladder passes this family by.
  bool has_components() const override { return false; }
  bool inputs_in_column_space() const override { return false; }
  std::shared_ptr<RecurrentWeightsImpl> make_weights(const ModelConfig& config,
                                                     const TrialStructure& structure) const override {
    return std::make_shared<MatrixRankWeightsImpl>(config, structure);
  }
  std::string torchscript_methods() const override {
    return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.left_factors.index_select(0, trials), self.right_factors.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    projected = (selected[1] * rates.unsqueeze(2)).sum(1)
    return (selected[0] * projected.unsqueeze(1)).sum(2)

  def weights(self, trials: Tensor) -> Tensor:
    left = self.left_factors.index_select(0, trials)
    right = self.right_factors.index_select(0, trials)
    return left.bmm(right.transpose(1, 2))
)";
  }
  std::map<std::string, std::string> torchscript_buffer_names() const override { return {}; }
  // Two K x N x R products per evaluation, as for tensor_rank.
  double recurrent_flop(double K, double N, double R) const override { return 4 * K * N * R; }
  // The fused integrator keeps each stage's projections V(k)^T r: K R numbers.
  double saved_per_evaluation(double K, double, double R) const override { return K * R; }
  double weight_parameters(double K, double N, double R) const override { return 2 * K * N * R; }
  double weight_intermediates(double, double, double) const override { return 0.0; }
  ConnectivityView connectivity_view() const override { return ConnectivityView::WeightChange; }
};

}  // namespace

std::unique_ptr<FamilyTraits> matrix_rank_family() { return std::make_unique<MatrixRankFamily>(); }

}  // namespace ltrnn
