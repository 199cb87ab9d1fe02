// The low-tensor-rank RNN: trial-factor prior, weight parameterisation and forward simulation.
#include "model/ltrnn_model.h"

#include <cmath>

#include "data/dataset.h"
#include "model/ode_solver.h"

namespace ltrnn {

namespace {
// Columns scaled to unit Euclidean norm: a_r = a_raw_r / ||a_raw_r||.
torch::Tensor unit_columns(const torch::Tensor& m) { return m / m.norm(2, torch::IntArrayRef{0}, /*keepdim=*/true); }
}  // namespace

torch::Tensor TensorRankFactors::weights() const {
  // W[k] = sum_r c[k,r] a_r b_r^T
  return torch::einsum("kr,ir,jr->kij", {trial, column, row});
}

int64_t TrialStructure::n_input_bins() const {
  int64_t n = 0;
  for (int64_t slot : input_slot) n += slot >= 0;
  return n;
}

TrialStructure TrialStructure::from_dataset(const Dataset& ds, const ModelConfig& config) {
  TrialStructure s;
  s.condition = ds.condition;
  s.epoch = ds.epoch;
  s.trial_id = ds.trial_id;
  s.n_conditions = ds.n_conditions();
  s.n_neurons = ds.n_neurons();
  s.dt = ds.bin_width();
  const auto times = ds.times.contiguous();
  int64_t next = 0;
  for (int64_t t = 0; t < ds.n_bins(); ++t) {
    const bool acts = config.inputs_during_execution || times[t].item<double>() < 0;
    s.input_slot.push_back(acts ? next++ : -1);
  }
  return s;
}

torch::Tensor trial_kernel(const ModelConfig& config, const torch::Tensor& trial_id, const torch::Tensor& epoch) {
  const torch::Tensor ids = trial_id.to(torch::kFloat64);
  const torch::Tensor d2 = (ids.unsqueeze(1) - ids.unsqueeze(0)).pow(2);
  const double l2 = config.gp_length * config.gp_length;
  const double s2 = config.gp_scale * config.gp_scale;
  torch::Tensor k = config.kernel == KernelKind::RationalQuadratic
                        ? s2 * torch::pow(1.0 + d2 / (2.0 * config.gp_alpha * l2), -config.gp_alpha)
                        : s2 * torch::exp(-d2 / (2.0 * l2));
  if (config.discontinuous_epochs) k = k * (epoch.unsqueeze(1) == epoch.unsqueeze(0)).to(torch::kFloat64);
  return k;
}

TensorRankWeightsImpl::TensorRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure)
    : prior_(config.trial_prior) {
  const int64_t N = config.hidden, R = config.rank, K = structure.n_trials();
  column_raw = register_parameter("column_factors", torch::randn({N, R}, torch::kFloat64));
  row_raw = register_parameter("row_factors", torch::randn({N, R}, torch::kFloat64));
  if (prior_ == TrialPrior::GaussianProcess) {
    // c = L z + mu; L = chol(Kgp + s_obs^2 I) (DESIGN section 1). Start near c = mu = 1:
    // a modest, shared gain that the fit then shapes over trials.
    const torch::Tensor gram = trial_kernel(config, structure.trial_id, structure.epoch) +
                               std::pow(config.gp_observation_std, 2) * torch::eye(K, torch::kFloat64);
    trial_cholesky = register_buffer("trial_cholesky", torch::linalg_cholesky(gram));
    trial_latent = register_parameter("trial_latent", 0.01 * torch::randn({K, R}, torch::kFloat64));
    trial_mean = register_parameter("trial_mean", torch::ones({R}, torch::kFloat64));
  } else {
    trial_free = register_parameter("trial_factors", torch::ones({K, R}, torch::kFloat64) +
                                                         0.01 * torch::randn({K, R}, torch::kFloat64));
  }
}

torch::Tensor TensorRankWeightsImpl::column_factors() const { return unit_columns(column_raw); }
torch::Tensor TensorRankWeightsImpl::row_factors() const { return unit_columns(row_raw); }

torch::Tensor TensorRankWeightsImpl::trial_factors() const {
  if (prior_ == TrialPrior::GaussianProcess) return trial_cholesky.matmul(trial_latent) + trial_mean;
  return trial_free;
}

TensorRankFactors TensorRankWeightsImpl::factors() const {
  return TensorRankFactors{column_factors(), row_factors(), trial_factors()};
}

torch::Tensor TensorRankWeightsImpl::recurrent_term(const torch::Tensor& rates, const torch::Tensor& A,
                                                    const torch::Tensor& B, const torch::Tensor& c) {
  // W(k) phi = sum_r c[k,r] a_r (b_r . phi) = A ((B^T phi) * c_k): two skinny GEMMs.
  return (rates.matmul(B) * c).matmul(A.t());
}

RnnModelImpl::RnnModelImpl(ModelConfig config, TrialStructure structure)
    : config_(std::move(config)), structure_(std::move(structure)) {
  const int64_t N = config_.hidden, R = config_.rank, C = structure_.n_conditions, D = structure_.n_neurons;
  const auto f64 = torch::kFloat64;
  weights_ = register_module("weights", TensorRankWeights(config_, structure_));
  initial_state = register_parameter("initial_state", torch::randn({C, R}, f64));
  inputs = register_parameter("inputs", torch::zeros({C, structure_.n_input_bins(), R}, f64));
  bias = register_parameter("bias", torch::zeros({R}, f64), /*requires_grad=*/config_.recurrent_bias);
  readout = register_parameter("readout", torch::randn({D, N}, f64) / std::sqrt(static_cast<double>(N)));
  readout_scale = register_parameter("readout_scale", torch::ones({}, f64),
                                     /*requires_grad=*/config_.readout == ReadoutKind::Orthonormal);
  readout_bias = register_parameter("readout_bias", torch::zeros({D}, f64), /*requires_grad=*/config_.readout_bias);
}

torch::Tensor RnnModelImpl::readout_matrix() const {
  if (config_.readout == ReadoutKind::Linear) return readout;
  // Orthonormal up to scale: orthonormal columns (D >= N) or rows (D < N), sign-fixed so
  // the map from the raw matrix is smooth, times a learned scale.
  const bool tall = readout.size(0) >= readout.size(1);
  const torch::Tensor m = tall ? readout : readout.t();
  auto [q, r] = torch::linalg_qr(m, "reduced");
  q = q * torch::sign(torch::diagonal(r)).unsqueeze(0);
  return readout_scale * (tall ? q : q.t());
}

torch::Tensor RnnModelImpl::input_penalty() const {
  if (inputs.numel() == 0) return torch::zeros({}, inputs.options());
  return inputs.matmul(weights_->column_factors().t()).pow(2).mean();
}

torch::Tensor RnnModelImpl::weights(const torch::Tensor& trials) const {
  TensorRankFactors f = factors();
  f.trial = f.trial.index_select(0, trials);
  return f.weights();
}

void RnnModelImpl::set_readout_bias(const torch::Tensor& d) {
  torch::NoGradGuard no_grad;
  readout_bias.copy_(d);
}

int64_t RnnModelImpl::n_params() const {
  int64_t n = 0;
  for (const auto& p : parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

RnnModelImpl::Output RnnModelImpl::simulate(const torch::Tensor& trials) {
  // 1. Per-forward quantities: normalised factors, the trials' factors and conditions.
  const torch::Tensor A = weights_->column_factors();  // [N, R]
  const torch::Tensor B = weights_->row_factors();     // [N, R]
  const torch::Tensor c = weights_->trial_factors().index_select(0, trials);  // [k, R]
  const torch::Tensor cond = structure_.condition.index_select(0, trials);     // [k]

  // 2. Drive in span(A) per bin, A (u_c(t) + b): inputs are held constant within a bin.
  const torch::Tensor bias_term = config_.recurrent_bias ? bias : torch::zeros_like(bias);
  const torch::Tensor drive_in_span = inputs.index_select(0, cond) + bias_term;  // [k, T_in, R]
  const torch::Tensor drive = drive_in_span.matmul(A.t());                     // [k, T_in, N]
  const torch::Tensor constant_drive = bias_term.matmul(A.t());                 // [N]

  // 3. Integrate tau dx/dt = -x + W(k) phi(x) + drive from x(0) = A s_c.
  const double inv_tau = 1.0 / config_.tau;
  const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
    const int64_t slot = structure_.input_slot[bin];
    const torch::Tensor external = slot >= 0 ? drive.select(1, slot) : constant_drive;
    return (TensorRankWeightsImpl::recurrent_term(torch::tanh(x), A, B, c) - x + external) * inv_tau;
  };
  const torch::Tensor x0 = initial_state.index_select(0, cond).matmul(A.t());  // [k, N]
  const torch::Tensor hidden =
      torch::stack(integrate(config_.solver, drift, x0, structure_.n_bins(), structure_.dt, config_.substeps));

  // 4. Readout over all bins at once: yhat = C phi(x) + d.
  torch::Tensor linear = torch::tanh(hidden).matmul(readout_matrix().t());
  if (config_.readout_bias) linear = linear + readout_bias;
  return Output{hidden, linear, exp_link ? torch::exp(linear) : linear};
}

}  // namespace ltrnn
