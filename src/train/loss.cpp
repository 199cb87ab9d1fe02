// The fitting objective and held-out scores.
#include "train/loss.h"

#include <torch/torch.h>

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

FitTarget make_fit_target(const torch::Tensor& data, const torch::Tensor& train, const torch::Tensor& test,
                          LossKind loss, bool counts, torch::ScalarType dtype) {
  FitTarget t;
  t.data = data.to(dtype);
  t.train = train;
  t.test = test;
  t.loss = loss == LossKind::Auto ? (counts ? LossKind::Poisson : LossKind::MSE) : loss;
  if (t.loss == LossKind::Poisson && (data < 0).any().item<bool>())
    throw InputError("loss 'poisson' needs non-negative data (spike counts); use 'mse' for rates");
  t.train_variance = masked_variance(t.data, train);
  t.test_variance = masked_variance(t.data, test);
  t.train_weight = train.to(dtype);
  t.test_weight = test.to(dtype);
  t.train_count_per_trial = train.sum(torch::IntArrayRef{0, 2}).to(torch::kFloat64);
  t.train_count = t.train_count_per_trial.sum().item<double>();
  t.test_count = static_cast<double>(test.sum().item<int64_t>());
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

Scores score_predictions(const torch::Tensor& prediction, const FitTarget& target) {
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
  return s;
}

}  // namespace ltrnn
