// The fitting objective (docs/design.md section 4): masked data term + L2 on hidden activity and inputs.
#pragma once
#include <torch/types.h>

#include <cmath>
#include <vector>

#include "data/masks.h"
#include "train/config.h"

namespace ltrnn {

// Target and masks of one fit, in the model's dtype.
struct FitTarget {
  torch::Tensor data;             // Y [T, K, D]
  torch::Tensor train;            // [T, K, D] bool
  torch::Tensor validation;       // [T, K, D] bool (all false: no validation set)
  torch::Tensor test;             // [T, K, D] bool
  LossKind loss = LossKind::MSE;  // resolved: MSE or Poisson
  double train_variance = 1.0;    // variance of the training entries (MSE normaliser)
  double validation_variance = 1.0;
  double test_variance = 1.0;  // variance of the test entries (nMSE normaliser)
  // The masks as 0/1 weights in the model's dtype, and their per-trial counts [K]: the
  // training loop's data terms are then single weighted passes over the entries.
  torch::Tensor train_weight, validation_weight, test_weight;
  torch::Tensor train_count_per_trial;  // [K] float64
  double train_count = 0, validation_count = 0, test_count = 0;
  // Each validation entry's correlated group (data/masks.h held_out_groups), in the flat
  // order of the validation mask, and the number of groups.
  torch::Tensor validation_groups;
  int64_t validation_group_count = 0;

  // Whether fits stop and ranks are selected on validation entries (else on test entries,
  // the reference's behaviour; docs/design.md section 5).
  bool has_validation() const { return validation_count > 0; }
};

// Builds a FitTarget; `loss` Auto resolves to Poisson for counts and MSE otherwise.
FitTarget make_fit_target(const torch::Tensor& data, const Masks& masks, LossKind loss, bool counts,
                          torch::ScalarType dtype);

// The same target with its tensors on `device` (the fit's); its counts and variances, computed
// on the CPU, unchanged.
FitTarget on_device(const FitTarget& target, const torch::Device& device);

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

// Held-out scores of a fit (docs/design.md section 5). Scores that only count data have
// (bits per spike, deviance explained) are NaN for MSE fits.
struct Scores {
  double test_mse = 0;   // mean squared error, data units
  double test_nmse = 0;  // test_mse / variance of the test entries
  double test_r2 = 0;    // 1 - SSE / sum over test entries of (y - mean of that neuron's test entries)^2
  // Standard error of test_nmse as an estimate from a finite test set: the std of the
  // squared residuals over test entries / sqrt(count) / test variance. Entries within a
  // block are correlated, so this is a lower bound on the sampling error.
  double test_nmse_se = 0;
  // The validation set's data term (normalised as in training: nMSE, or Poisson NLL per
  // entry) and its standard error (std of the entries' terms / sqrt(count) / normaliser):
  // what rank selection compares. NaN without a validation set.
  double validation_loss = NAN, validation_loss_se = NAN;
  double validation_nmse = NAN;
  // Poisson: (log-likelihood of the model - that of a per-neuron constant rate fitted on
  // the training entries) / (spikes in the scored entries x ln 2), the Neural Latents
  // Benchmark's co-bps on ltrnn's held-out blocks; and the Poisson deviance explained,
  // 1 - D(model) / D(that constant rate).
  double test_bits_per_spike = NAN, validation_bits_per_spike = NAN;
  double test_deviance_explained = NAN;
};
// The validation entries' data terms, normalised as validation_loss, summed over each
// connected group of validation entries: [groups, 2] as (sum, entries) rows, flattened.
// Fits that share the mask can be compared group by group (the paired, block-robust
// standard error of run/comparison.h). Empty without a validation set.
std::vector<double> validation_group_losses(const torch::Tensor& linear, const FitTarget& target);

// `prediction` after the link (rates for Poisson) and `linear` before it (identical for MSE).
Scores score_predictions(const torch::Tensor& prediction, const torch::Tensor& linear, const FitTarget& target);

}  // namespace ltrnn
