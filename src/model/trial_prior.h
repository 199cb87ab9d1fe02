// Per-trial parameters smoothed over learning (docs/design.md section 1, "trial-factor prior"):
// values V [K, F] either V = L Z + mu with L = chol(Kgp + s_obs^2 I) over trial_id
// (a Gaussian-process prior: nearby trials get similar values), or free per trial.
#pragma once
#include <torch/torch.h>

#include "model/config.h"

namespace ltrnn {

// Gram matrix of the trial prior over trial ids [K]: rational-quadratic
// sigma^2 (1 + d^2 / (2 alpha l^2))^-alpha or squared-exponential sigma^2 exp(-d^2 / (2 l^2)),
// zeroed between different epochs when discontinuous_epochs and between different sessions
// [K] (undefined: one session) when discontinuous_sessions. Returns [K, K] float64.
torch::Tensor trial_kernel(const TrialPriorConfig& config, const torch::Tensor& trial_id, const torch::Tensor& epoch,
                           const torch::Tensor& session = torch::Tensor());

class TrialValuesImpl : public torch::nn::Module {
 public:
  // `initial_mean` [F] is mu (GP) or every trial's value (free); `latent_scale` the std of
  // the initial Z (GP) or of the per-trial perturbation (free).
  TrialValuesImpl(const TrialPriorConfig& config, const torch::Tensor& trial_id, const torch::Tensor& epoch,
                  const torch::Tensor& session, const torch::Tensor& initial_mean, double latent_scale);

  torch::Tensor values() const;                             // V [K, F]
  torch::Tensor values(const torch::Tensor& trials) const;  // V[trials] [k, F]
  // Sets V exactly (free prior only): for planting a known ground truth.
  void set_free_values(const torch::Tensor& v);

  torch::Tensor latent, mean, free;  // Z [K, F] and mu [F] (GP) or V [K, F] (free)
  torch::Tensor cholesky;            // buffer L [K, K] (GP)

 private:
  bool gp_;
};
TORCH_MODULE(TrialValues);

}  // namespace ltrnn
