// The fitting objective (docs/design.md section 4): masked data term + L2 on hidden activity and inputs.
#pragma once
#include <torch/types.h>

#include "train/config.h"

namespace ltrnn {

// Target and masks of one fit, in the model's dtype.
struct FitTarget {
  torch::Tensor data;             // Y [T, K, D]
  torch::Tensor train;            // [T, K, D] bool
  torch::Tensor test;             // [T, K, D] bool
  LossKind loss = LossKind::MSE;  // resolved: MSE or Poisson
  double train_variance = 1.0;    // variance of the training entries (MSE normaliser)
  double test_variance = 1.0;     // variance of the test entries (nMSE normaliser)
  // The masks as 0/1 weights in the model's dtype, and their per-trial counts [K]: the
  // training loop's data terms are then single weighted passes over the entries.
  torch::Tensor train_weight, test_weight;
  torch::Tensor train_count_per_trial;  // [K] float64
  double train_count = 0, test_count = 0;
};

// Builds a FitTarget; `loss` Auto resolves to Poisson for counts and MSE otherwise.
FitTarget make_fit_target(const torch::Tensor& data, const torch::Tensor& train, const torch::Tensor& test,
                          LossKind loss, bool counts, torch::ScalarType dtype);

// Per-entry data loss [T, K, D]: (yhat - y)^2 for MSE, exp(eta) - y eta for Poisson.
torch::Tensor entry_losses(LossKind loss, const torch::Tensor& linear, const torch::Tensor& target);
// What a data term's entry sum is divided by besides the count: the variance for MSE, 1 for Poisson.
double loss_normaliser(LossKind loss, double variance);

// Data term over the entries where mask is true.
//   MSE:     sum(mask (yhat - y)^2) / (|mask| * variance)          (scale-free)
//   Poisson: sum(mask (exp(eta) - y eta)) / |mask|                  (NLL up to log y!)
// `linear` is the model's pre-link output (eta for Poisson, yhat for MSE).
torch::Tensor data_term(LossKind loss, const torch::Tensor& linear, const torch::Tensor& target,
                        const torch::Tensor& mask, double variance);

// Held-out scores of a prediction [T, K, D] on the test entries.
struct Scores {
  double test_mse = 0;   // mean squared error, data units
  double test_nmse = 0;  // test_mse / variance of the test entries
  double test_r2 = 0;    // 1 - SSE / sum over test entries of (y - mean of that neuron's test entries)^2
  // Standard error of test_nmse as an estimate from a finite test set: the std of the
  // squared residuals over test entries / sqrt(count) / test variance. Entries within a
  // block are correlated, so this is a lower bound on the sampling error.
  double test_nmse_se = 0;
};
Scores score_predictions(const torch::Tensor& prediction, const FitTarget& target);

}  // namespace ltrnn
