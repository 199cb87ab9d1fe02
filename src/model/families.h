// The model families of DESIGN section 1, one implementation file each:
//   tensor_rank  W(k) = sum_r c[k,r] a_r b_r^T            R (2N + K) weight parameters
//   full         W(k) free N x N per trial, GP-smooth      K N^2
//   static       W(k) = W for every trial (no learning)    N^2
//   matrix_rank  W(k) = U(k) V(k)^T, U, V N x R, GP-smooth  2 K N R
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
  std::optional<LowRankForm> low_rank_form(const torch::Tensor& trials) const override {
    return LowRankForm{column_factors(), row_factors(), trial_prior->values(trials)};
  }
  torch::Tensor dense_weights(const torch::Tensor& trials) const override;
  torch::Tensor input_basis() const override { return column_factors(); }  // inputs live in span(A)
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override;

  torch::Tensor column_factors() const { return unit_columns(column_raw); }  // A [N, R]
  torch::Tensor row_factors() const { return unit_columns(row_raw); }        // B [N, R]
  torch::Tensor trial_factors() const { return trial_prior->values(); }      // c [K, R]
  TensorRankFactors factors() const { return {column_factors(), row_factors(), trial_factors()}; }

  // W(k) phi for rates [k, N] with the trials' factors c [k, R]: A ((phi B) * c),
  // O(k N R): the K x N x N tensor is never built.
  static torch::Tensor recurrent_term(const torch::Tensor& rates, const torch::Tensor& A, const torch::Tensor& B,
                                      const torch::Tensor& c);

  torch::Tensor column_raw, row_raw;  // registered as column_factors, row_factors (before normalisation)
  TrialValues trial_prior{nullptr};    // registered as trial_factors
};

// A free N x N matrix per trial, smoothed over trials by the trial prior: W = L Z + M.
class FullWeightsImpl : public RecurrentWeightsImpl {
 public:
  FullWeightsImpl(const ModelConfig& config, const TrialStructure& structure);
  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override;
  torch::Tensor dense_weights(const torch::Tensor& trials) const override;
  torch::Tensor input_basis() const override { return unit_columns(input_raw); }
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override;

  int64_t hidden;
  TrialValues trial_weights{nullptr};  // [K, N*N]
  torch::Tensor input_raw;            // [N, R_in]
};

// One N x N matrix shared by every trial: the no-learning baseline.
class StaticWeightsImpl : public RecurrentWeightsImpl {
 public:
  StaticWeightsImpl(const ModelConfig& config, const TrialStructure& structure);
  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override;
  torch::Tensor dense_weights(const torch::Tensor& trials) const override;
  torch::Tensor input_basis() const override { return unit_columns(input_raw); }
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override;

  torch::Tensor weight;     // W [N, N]
  torch::Tensor input_raw;  // [N, R_in]
};

// Per-trial rank-R factors U(k), V(k) [N, R], each smoothed over trials by the trial prior.
class MatrixRankWeightsImpl : public RecurrentWeightsImpl {
 public:
  MatrixRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure);
  RecurrentTerm recurrent_for(const torch::Tensor& trials) const override;
  torch::Tensor dense_weights(const torch::Tensor& trials) const override;
  torch::Tensor input_basis() const override { return unit_columns(input_raw); }
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const override;

  int64_t hidden, rank;
  TrialValues left{nullptr}, right{nullptr};  // U, V as [K, N*R]
  torch::Tensor input_raw;                   // [N, R_in]
};

// Number of input/initial-state directions: input_rank, or rank when input_rank is 0.
int64_t input_rank_of(const ModelConfig& config);

}  // namespace ltrnn
