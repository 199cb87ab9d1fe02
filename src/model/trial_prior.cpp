// The Gaussian-process (or free) prior over per-trial parameters.
#include "model/trial_prior.h"

#include <cmath>

namespace ltrnn {

torch::Tensor trial_kernel(const TrialPriorConfig& config, const torch::Tensor& trial_id, const torch::Tensor& epoch,
                           const torch::Tensor& session) {
  const torch::Tensor ids = trial_id.to(torch::kFloat64);
  const torch::Tensor d2 = (ids.unsqueeze(1) - ids.unsqueeze(0)).pow(2);
  const double l2 = config.length * config.length;
  const double s2 = config.scale * config.scale;
  torch::Tensor k = config.kernel == KernelKind::RationalQuadratic
                        ? s2 * torch::pow(1.0 + d2 / (2.0 * config.alpha * l2), -config.alpha)
                        : s2 * torch::exp(-d2 / (2.0 * l2));
  if (config.discontinuous_epochs) k = k * (epoch.unsqueeze(1) == epoch.unsqueeze(0)).to(torch::kFloat64);
  if (config.discontinuous_sessions && session.defined())
    k = k * (session.unsqueeze(1) == session.unsqueeze(0)).to(torch::kFloat64);
  return k;
}

TrialValuesImpl::TrialValuesImpl(const TrialPriorConfig& config, const torch::Tensor& trial_id,
                                 const torch::Tensor& epoch, const torch::Tensor& session,
                                 const torch::Tensor& initial_mean, double latent_scale)
    : gp_(config.kind == TrialPrior::GaussianProcess) {
  const int64_t K = trial_id.size(0), F = initial_mean.numel();
  const torch::Tensor mu = initial_mean.reshape({F}).to(torch::kFloat64);
  if (gp_) {
    const torch::Tensor gram = trial_kernel(config, trial_id, epoch, session) +
                               std::pow(config.observation_std, 2) * torch::eye(K, torch::kFloat64);
    cholesky = register_buffer("cholesky", torch::linalg_cholesky(gram));
    latent = register_parameter("latent", latent_scale * torch::randn({K, F}, torch::kFloat64));
    mean = register_parameter("mean", mu.clone());
  } else {
    free = register_parameter("values", mu.unsqueeze(0) + latent_scale * torch::randn({K, F}, torch::kFloat64));
  }
}

torch::Tensor TrialValuesImpl::values() const { return gp_ ? cholesky.matmul(latent) + mean : free; }

torch::Tensor TrialValuesImpl::values(const torch::Tensor& trials) const {
  // Only the requested rows of L are needed: V[trials] = L[trials] Z + mu.
  return gp_ ? cholesky.index_select(0, trials).matmul(latent) + mean : free.index_select(0, trials);
}

void TrialValuesImpl::set_free_values(const torch::Tensor& v) {
  TORCH_CHECK(!gp_, "set_free_values needs the free trial prior");
  torch::NoGradGuard no_grad;
  free.copy_(v);
}

}  // namespace ltrnn
