// tensor_rank, the ltrRNN: W(k) = sum_r c[k,r] a_r b_r^T (Pellegrino et al. 2023, eq. 2).
// Declared here because the teacher generator and the tests reach into its factors.
#pragma once
#include "model/factors.h"
#include "model/recurrent_weights.h"
#include "model/trial_prior.h"

namespace ltrnn {

struct TrialStructure;

// Column factors A [N,R], row factors B [N,R] (unit-norm columns) and trial factors c [K,R].
class TensorRankWeightsImpl : public RecurrentWeightsImpl {
 public:
  TensorRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure);
  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override;
  std::optional<FusedWeights> fused_weights(const torch::Tensor& trials) const override {
    return FusedWeights::low_rank(column_factors(), row_factors(), trial_prior->values(trials));
  }
  torch::Tensor dense_weights(const torch::Tensor& trials) const override;
  torch::Tensor input_basis() const override { return column_factors(); }  // inputs live in span(A)
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override;
  // Component r adds c[k,r] a_r b_r^T, of Frobenius norm |c[k,r]| (unit a_r, b_r): its
  // strength is the root mean square of c[:,r] over trials.
  std::optional<torch::Tensor> component_strengths() const override {
    return trial_factors().detach().square().mean(0).sqrt();
  }
  std::vector<std::string> drawn_directions() const override { return {"column_factors", "row_factors"}; }
  std::optional<torch::Tensor> trial_scales(const torch::Tensor& trials) const override {
    return trial_prior->values(trials);
  }

  torch::Tensor column_factors() const { return unit_columns(column_raw); }  // A [N, R]
  torch::Tensor row_factors() const { return unit_columns(row_raw); }        // B [N, R]
  torch::Tensor trial_factors() const { return trial_prior->values(); }      // c [K, R]
  TensorRankFactors factors() const { return {column_factors(), row_factors(), trial_factors()}; }

  // W(k) phi for rates [k, N] with the trials' factors c [k, R]: A ((phi B) * c),
  // O(k N R): the K x N x N tensor is never built.
  static torch::Tensor recurrent_term(const torch::Tensor& rates, const torch::Tensor& A, const torch::Tensor& B,
                                      const torch::Tensor& c);

  torch::Tensor column_raw, row_raw;  // registered as column_factors, row_factors (before normalisation)
  TrialValues trial_prior{nullptr};   // registered as trial_factors
};

}  // namespace ltrnn
