// full: a free N x N weight matrix per trial, GP-smooth over trials (full tensor rank).
#include <cmath>
#include <memory>

#include "model/family.h"
#include "model/ltrnn_model.h"
#include "model/trial_prior.h"

namespace ltrnn {
namespace {

// W(k) = L Z + M as [K, N*N] trial values (model/trial_prior.h).
class FullWeightsImpl : public RecurrentWeightsImpl {
 public:
  FullWeightsImpl(const ModelConfig& config, const TrialStructure& structure) : hidden(config.hidden) {
    const int64_t N = config.hidden;
    // Mean weights W0 ~ N(0, 0.25 / N): spectral radius about 0.5, decaying dynamics at the start.
    const torch::Tensor w0 = 0.5 * torch::randn({N * N}, torch::kFloat64) / std::sqrt(static_cast<double>(N));
    trial_weights = register_module("trial_weights", TrialValues(config.trial_prior_config(), structure.trial_id,
                                                                 structure.epoch, structure.session, w0,
                                                                 /*latent_scale=*/0.0));
    input_raw = register_parameter("input_basis", torch::randn({N, input_rank_of(config)}, torch::kFloat64));
  }

  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override {
    const torch::Tensor W = dense_weights(trials);  // [k, N, N]
    // W(k) phi_k as a broadcast product and row sums: one vectorised kernel for all trials
    // (a batched GEMM of K matrix-vector products pays a per-matrix overhead K times).
    return [W](const torch::Tensor& rates) { return (W * rates.unsqueeze(1)).sum(2); };
  }

  // The fused integrator reads each trial's W(k) in place for all its steps and returns
  // dL/dW(k) directly: no per-step copies of W (the generic path kept K N^2 numbers per
  // solver stage for the backward).
  std::optional<FusedWeights> fused_weights(const torch::Tensor& trials) const override {
    return FusedWeights::dense(dense_weights(trials));
  }

  torch::Tensor dense_weights(const torch::Tensor& trials) const override {
    return trial_weights->values(trials).view({trials.size(0), hidden, hidden});
  }

  torch::Tensor input_basis() const override { return unit_columns(input_raw); }

  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override {
    const int64_t K = trial_weights->values().size(0);
    return {{"weights", trial_weights->values().view({K, hidden, hidden})}, {"input_basis", input_basis()}};
  }

  int64_t hidden;
  TrialValues trial_weights{nullptr};  // [K, N*N]
  torch::Tensor input_raw;             // [N, R_in]
};

class FullFamily final : public FamilyTraits {
 public:
  std::string weights_formula() const override {
    return "W(k) free N x N per trial, GP-smooth over trials; K N^2 weight parameters";
  }
  bool has_rank() const override { return false; }
  bool has_components() const override { return false; }
  bool inputs_in_column_space() const override { return false; }
  std::shared_ptr<RecurrentWeightsImpl> make_weights(const ModelConfig& config,
                                                     const TrialStructure& structure) const override {
    return std::make_shared<FullWeightsImpl>(config, structure);
  }
  std::string torchscript_methods() const override {
    return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.weight_tensor.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return (selected[0] * rates.unsqueeze(1)).sum(2)

  def weights(self, trials: Tensor) -> Tensor:
    return self.weight_tensor.index_select(0, trials)
)";
  }
  std::map<std::string, std::string> torchscript_buffer_names() const override {
    return {{"weights", "weight_tensor"}};
  }
  // One N x N matrix-vector product per trial.
  double recurrent_flop(double K, double N, double) const override { return 2 * K * N * N; }
  // The fused integrator keeps only the states every family keeps (train/memory.cpp).
  double saved_per_evaluation(double, double, double) const override { return 0.0; }
  double weight_parameters(double K, double N, double) const override { return K * N * N; }
  // The trial prior's W(k) = L Z + M and its products in both passes, and dL/dW(k) from the
  // fused integrator: about 5 K N^2 (B1: 821 MiB measured peak, 812 estimated).
  double weight_intermediates(double K, double N, double) const override { return 5 * K * N * N; }
  ConnectivityView connectivity_view() const override { return ConnectivityView::WeightChange; }
};

}  // namespace

std::unique_ptr<FamilyTraits> full_family() { return std::make_unique<FullFamily>(); }

}  // namespace ltrnn
