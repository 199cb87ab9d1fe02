// tensor_rank: W(k) = sum_r c[k,r] a_r b_r^T (Pellegrino et al. 2023, eq. 2).
#include "model/families/tensor_rank.h"

#include "model/family.h"
#include "model/ltrnn_model.h"

namespace ltrnn {

torch::Tensor TensorRankFactors::weights() const {
  // W[k] = sum_r c[k,r] a_r b_r^T
  return torch::einsum("kr,ir,jr->kij", {trial, column, row});
}

TensorRankWeightsImpl::TensorRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure) {
  const int64_t N = config.hidden, R = config.rank;
  column_raw = register_parameter("column_factors", torch::randn({N, R}, torch::kFloat64));
  row_raw = register_parameter("row_factors", torch::randn({N, R}, torch::kFloat64));
  // Start near c = 1 for every trial: a modest, shared gain that the fit then shapes over trials.
  trial_prior = register_module(
      "trial_factors", TrialValues(config.trial_prior_config(), structure.trial_id, structure.epoch, structure.session,
                                   torch::ones({R}, torch::kFloat64), /*latent_scale=*/0.01));
}

torch::Tensor TensorRankWeightsImpl::recurrent_term(const torch::Tensor& rates, const torch::Tensor& A,
                                                    const torch::Tensor& B, const torch::Tensor& c) {
  // W(k) phi = sum_r c[k,r] a_r (b_r . phi) = A ((B^T phi) * c_k): two skinny GEMMs.
  return (rates.matmul(B) * c).matmul(A.t());
}

RecurrentWeightsImpl::RecurrentTerm TensorRankWeightsImpl::recurrent_for(const torch::Tensor& trials) const {
  const torch::Tensor A = column_factors(), B = row_factors(), c = trial_prior->values(trials);
  return [A, B, c](const torch::Tensor& rates) { return recurrent_term(rates, A, B, c); };
}

torch::Tensor TensorRankWeightsImpl::dense_weights(const torch::Tensor& trials) const {
  return TensorRankFactors{column_factors(), row_factors(), trial_prior->values(trials)}.weights();
}

std::vector<std::pair<std::string, torch::Tensor>> TensorRankWeightsImpl::named_factors() const {
  return {{"column_factors", column_factors()}, {"row_factors", row_factors()}, {"trial_factors", trial_factors()}};
}

namespace {

class TensorRankFamily final : public FamilyTraits {
 public:
  std::string weights_formula() const override { return "W(k) = sum_r c[k,r] a_r b_r^T; R (2N + K) weight parameters"; }
  bool has_rank() const override { return true; }
  bool has_components() const override { return true; }
  bool inputs_in_column_space() const override { return true; }
  std::shared_ptr<RecurrentWeightsImpl> make_weights(const ModelConfig& config,
                                                     const TrialStructure& structure) const override {
    return std::make_shared<TensorRankWeightsImpl>(config, structure);
  }
  std::string torchscript_methods() const override {
    return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.trial_factors.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return (rates.matmul(self.row_factors) * selected[0]).matmul(self.column_factors.t())

  def weights(self, trials: Tensor) -> Tensor:
    c = self.trial_factors.index_select(0, trials)
    return torch.einsum('kr,ir,jr->kij', [c, self.column_factors, self.row_factors])
)";
  }
  std::map<std::string, std::string> torchscript_buffer_names() const override { return {}; }
  // Two skinny GEMMs per evaluation: (phi B) and (...) A^T, each 2 K N R.
  double recurrent_flop(double K, double N, double R) const override { return 4 * K * N * R; }
  // The fused integrator keeps only the states every family keeps (train/memory.cpp).
  double saved_per_evaluation(double, double, double) const override { return 0.0; }
  double weight_parameters(double K, double N, double R) const override { return (2 * N + K) * R; }
  double weight_intermediates(double, double, double) const override { return 0.0; }
  ConnectivityView connectivity_view() const override { return ConnectivityView::TrialFactors; }
};

}  // namespace

std::unique_ptr<FamilyTraits> tensor_rank_family() { return std::make_unique<TensorRankFamily>(); }

}  // namespace ltrnn
