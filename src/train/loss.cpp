// The fitting objective and held-out scores.
#include "train/loss.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>
#include <utility>

#include "util/errors.h"

namespace ltrnn {

namespace {
double masked_variance(const torch::Tensor& data, const torch::Tensor& mask) {
  const torch::Tensor values = data.masked_select(mask);
  if (values.numel() < 2) return 1.0;
  const double v = values.var(/*unbiased=*/false).item<double>();
  return v > 0 ? v : 1.0;
}
}  // namespace

FitTarget make_fit_target(const torch::Tensor& data, const Masks& masks, LossKind loss, bool counts,
                          torch::ScalarType dtype) {
  const torch::Tensor& train = masks.train;
  const torch::Tensor& test = masks.test;
  FitTarget t;
  t.data = data.to(dtype);
  t.train = train;
  t.validation = masks.validation.defined() ? masks.validation : torch::zeros_like(train);
  t.test = test;
  t.loss = loss == LossKind::Auto ? (counts ? LossKind::Poisson : LossKind::MSE) : loss;
  if (t.loss == LossKind::Poisson && (data < 0).any().item<bool>())
    throw InputError("loss 'poisson' needs non-negative data (spike counts); use 'mse' for rates");
  t.train_variance = masked_variance(t.data, train);
  t.validation_variance = masked_variance(t.data, t.validation);
  t.test_variance = masked_variance(t.data, test);
  t.train_weight = train.to(dtype);
  t.validation_weight = t.validation.to(dtype);
  t.test_weight = test.to(dtype);
  t.train_count_per_trial = train.sum(torch::IntArrayRef{0, 2}).to(torch::kFloat64);
  t.train_count = t.train_count_per_trial.sum().item<double>();
  t.validation_count = static_cast<double>(t.validation.sum().item<int64_t>());
  if (t.has_validation()) {
    const torch::Tensor groups = held_out_groups(t.validation, masks.whole_trials);
    t.validation_groups = groups.masked_select(t.validation);
    t.validation_group_count = groups.max().item<int64_t>() + 1;
  }
  t.test_count = static_cast<double>(test.sum().item<int64_t>());
  return t;
}

FitTarget on_device(const FitTarget& target, const torch::Device& device) {
  FitTarget t = target;
  for (torch::Tensor* tensor : {&t.data, &t.train, &t.validation, &t.test, &t.train_weight, &t.validation_weight,
                                &t.test_weight, &t.train_count_per_trial, &t.validation_groups})
    if (tensor->defined()) *tensor = tensor->to(device);
  return t;
}

torch::Tensor entry_losses(LossKind loss, const torch::Tensor& linear, const torch::Tensor& target) {
  if (loss == LossKind::Poisson) return torch::exp(linear) - target * linear;
  return (linear - target).square();
}

double loss_normaliser(LossKind loss, double variance) { return loss == LossKind::Poisson ? 1.0 : variance; }

torch::Tensor data_term(LossKind loss, const torch::Tensor& linear, const torch::Tensor& target,
                        const torch::Tensor& mask, double variance) {
  const torch::Tensor weight = mask.to(linear.scalar_type());
  const torch::Tensor count = weight.sum().clamp_min(1.0);
  return (entry_losses(loss, linear, target) * weight).sum() / (count * loss_normaliser(loss, variance));
}

namespace {

// The held-out data term of `linear` on `mask` and its standard error, in float64.
std::pair<double, double> held_out_loss(const FitTarget& target, const torch::Tensor& linear, const torch::Tensor& mask,
                                        double variance) {
  const torch::Tensor entries =
      entry_losses(target.loss, linear.to(torch::kFloat64), target.data.to(torch::kFloat64)).masked_select(mask);
  if (entries.numel() == 0) return {NAN, NAN};
  const double normaliser = loss_normaliser(target.loss, variance);
  const double n = static_cast<double>(entries.numel());
  const double se = entries.numel() > 1 ? entries.std().item<double>() / std::sqrt(n) / normaliser : 0.0;
  return {entries.mean().item<double>() / normaliser, se};
}

// The Poisson scores of one held-out set against a per-neuron constant rate fitted on the
// training entries (docs/design.md section 5): {bits per spike, deviance explained}.
std::pair<double, double> poisson_scores(const FitTarget& target, const torch::Tensor& linear,
                                         const torch::Tensor& mask) {
  const torch::Tensor y = target.data.to(torch::kFloat64);
  const torch::Tensor eta = linear.to(torch::kFloat64);
  const torch::Tensor w_train = target.train.to(torch::kFloat64);
  const torch::Tensor w = mask.to(torch::kFloat64);
  // The null model: each neuron's mean count over its training entries (log 0 kept finite).
  const torch::Tensor null_rate =
      ((y * w_train).sum(torch::IntArrayRef{0, 1}) / w_train.sum(torch::IntArrayRef{0, 1}).clamp_min(1.0))
          .clamp_min(1e-12);
  const double spikes = (y * w).sum().item<double>();
  if (spikes <= 0) return {NAN, NAN};
  // log-likelihoods without the log y! term, which cancels in the difference.
  const double ll_model = ((y * eta - eta.exp()) * w).sum().item<double>();
  const double ll_null = ((y * null_rate.log() - null_rate) * w).sum().item<double>();
  // Deviance 2 sum [y log(y / rate) - (y - rate)], with y log y = 0 at y = 0.
  const torch::Tensor y_log_y = torch::where(y > 0, y * y.clamp_min(1e-300).log(), torch::zeros_like(y));
  const auto deviance = [&](const torch::Tensor& log_rate, const torch::Tensor& rate) {
    return 2.0 * ((y_log_y - y * log_rate - (y - rate)) * w).sum().item<double>();
  };
  const double d_model = deviance(eta, eta.exp());
  const double d_null = deviance(null_rate.log().expand_as(y), null_rate.expand_as(y));
  return {(ll_model - ll_null) / (spikes * std::log(2.0)), d_null > 0 ? 1.0 - d_model / d_null : NAN};
}

}  // namespace

std::vector<double> validation_group_losses(const torch::Tensor& linear, const FitTarget& target) {
  if (!target.has_validation()) return {};
  torch::NoGradGuard no_grad;
  const torch::Tensor entries =
      (entry_losses(target.loss, linear.to(torch::kFloat64), target.data.to(torch::kFloat64)) /
       loss_normaliser(target.loss, target.validation_variance))
          .masked_select(target.validation);
  torch::Tensor rows = torch::zeros({target.validation_group_count, 2}, torch::kFloat64);
  rows.select(1, 0).index_add_(0, target.validation_groups, entries);
  rows.select(1, 1).index_add_(0, target.validation_groups, torch::ones_like(entries));
  rows = rows.contiguous();
  return {rows.data_ptr<double>(), rows.data_ptr<double>() + rows.numel()};
}

Scores score_predictions(const torch::Tensor& prediction, const torch::Tensor& linear, const FitTarget& target) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = target.test.to(torch::kFloat64);
  const torch::Tensor y = target.data.to(torch::kFloat64);
  const torch::Tensor residual = prediction.to(torch::kFloat64) - y;
  const double n = std::max(1.0, w.sum().item<double>());
  const double sse = (residual.pow(2) * w).sum().item<double>();
  // Per-neuron means over that neuron's test entries: R^2 against a per-neuron constant.
  const torch::Tensor per_neuron_n = w.sum(torch::IntArrayRef{0, 1}).clamp_min(1.0);
  const torch::Tensor per_neuron_mean = (y * w).sum(torch::IntArrayRef{0, 1}) / per_neuron_n;
  const double sst = ((y - per_neuron_mean).pow(2) * w).sum().item<double>();
  Scores s;
  s.test_mse = sse / n;
  s.test_nmse = s.test_mse / target.test_variance;
  s.test_r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
  const torch::Tensor squared = residual.pow(2).masked_select(target.test);
  if (squared.numel() > 1)
    s.test_nmse_se =
        squared.std().item<double>() / std::sqrt(static_cast<double>(squared.numel())) / target.test_variance;
  if (target.has_validation()) {
    std::tie(s.validation_loss, s.validation_loss_se) =
        held_out_loss(target, linear, target.validation, target.validation_variance);
    const torch::Tensor v = residual.pow(2).masked_select(target.validation);
    s.validation_nmse = v.mean().item<double>() / target.validation_variance;
  }
  if (target.loss == LossKind::Poisson) {
    std::tie(s.test_bits_per_spike, s.test_deviance_explained) = poisson_scores(target, linear, target.test);
    if (target.has_validation()) s.validation_bits_per_spike = poisson_scores(target, linear, target.validation).first;
  }
  return s;
}

}  // namespace ltrnn
