// The RNN shared by every model family: inputs, initial states, readout and forward simulation.
#include "model/ltrnn_model.h"

#include <cmath>

#include "data/dataset.h"
#include "model/family.h"
#include "model/fused_integration.h"
#include "model/solvers.h"

namespace ltrnn {

torch::Tensor unit_columns(const torch::Tensor& m) { return m / m.norm(2, torch::IntArrayRef{0}, /*keepdim=*/true); }

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
  s.session = torch::zeros({ds.n_trials()}, torch::kInt64);
  for (std::size_t i = 0; i < ds.sessions.size(); ++i)
    s.session.narrow(0, ds.sessions[i].first_trial, ds.sessions[i].trials).fill_(static_cast<int64_t>(i));
  s.times = ds.times.to(torch::kFloat64);
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

RnnModelImpl::RnnModelImpl(ModelConfig config, TrialStructure structure)
    : config_(std::move(config)), structure_(std::move(structure)) {
  const int64_t N = config_.hidden, R = input_rank_of(config_), C = structure_.n_conditions, D = structure_.n_neurons;
  const auto f64 = torch::kFloat64;
  weights_ = register_module("weights", make_recurrent_weights(config_, structure_));
  initial_state = register_parameter("initial_state", torch::randn({C, R}, f64));
  inputs = register_parameter("inputs", torch::zeros({C, structure_.n_input_bins(), R}, f64));
  // Trial inputs (docs/design.md section 1, "Trial inputs"): where inputs act, the drive along
  // a_r also grows with c[k,r]. With W(k) = sum_r c[k,r] a_r b_r^T, a state held still at x_c
  // needs exactly the input x_c - W(k) phi(x_c), whose trial-varying part is
  // -sum_r c[k,r] (b_r . phi(x_c)) a_r: one value per condition and component, v[c,r]. They start
  // at zero, so a fit begins as the model without them.
  // Free initial states (docs/design.md section 1, "Free initial states"): a recorded state at the
  // first bin need not lie in span(A); its part outside decays as exp(-t / tau), since W(k)
  // and the inputs act in span(A) only.
  if (config_.free_initial_states) initial_offset = register_parameter("initial_offset", torch::zeros({C, N}, f64));
  if (config_.trial_inputs && weights_->trial_scales(torch::zeros({0}, torch::kInt64)).has_value())
    trial_inputs = register_parameter("trial_inputs", torch::zeros({C, R}, f64));
  bias = register_parameter("bias", torch::zeros({R}, f64), /*requires_grad=*/config_.recurrent_bias);
  readout = register_parameter("readout", torch::randn({D, N}, f64) / std::sqrt(static_cast<double>(N)));
  readout_scale = register_parameter("readout_scale", torch::ones({}, f64),
                                     /*requires_grad=*/config_.readout == ReadoutKind::Orthonormal);
  readout_bias = register_parameter("readout_bias", torch::zeros({D}, f64), /*requires_grad=*/config_.readout_bias);
  // A positive time constant through its logarithm: the gradient step is relative, and no
  // step can make tau negative (docs/design.md section 1).
  log_tau = register_parameter("log_tau", torch::full({}, std::log(config_.tau), f64),
                               /*requires_grad=*/config_.learn_tau);
}

double RnnModelImpl::tau() const { return std::exp(log_tau.item<double>()); }

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
  return inputs.matmul(weights_->input_basis().t()).pow(2).mean();
}

torch::Tensor RnnModelImpl::trial_drive(const torch::Tensor& trials) const {
  const torch::Tensor on_device = trials.to(inputs.device());
  if (!has_trial_inputs()) return torch::zeros({on_device.size(0), inputs.size(2)}, inputs.options());
  const torch::Tensor cond = structure_.condition.to(inputs.device()).index_select(0, on_device);
  return trial_inputs.index_select(0, cond) * *weights_->trial_scales(on_device);  // [k, R]
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

RnnModelImpl::Output RnnModelImpl::simulate(const torch::Tensor& requested_trials) {
  // 1. Per-forward quantities: the input basis A [N, R_in] and the trials' conditions, on the
  //    parameters' device (the trial structure stays on the CPU).
  const torch::Tensor trials = requested_trials.to(inputs.device());
  const torch::Tensor A = weights_->input_basis();
  const torch::Tensor cond = structure_.condition.to(inputs.device()).index_select(0, trials);  // [k]

  // 2. Drive in span(A) per bin, A (u_c(t) + v_c * c[k] + b): inputs are held constant within a bin.
  const torch::Tensor bias_term = config_.recurrent_bias ? bias : torch::zeros_like(bias);
  torch::Tensor drive_in_span = inputs.index_select(0, cond) + bias_term;  // [k, T_in, R]
  if (has_trial_inputs()) drive_in_span = drive_in_span + trial_drive(trials).unsqueeze(1);
  const torch::Tensor drive = drive_in_span.matmul(A.t());       // [k, T_in, N]
  const torch::Tensor constant_drive = bias_term.matmul(A.t());  // [N]

  // 3. Integrate tau dx/dt = -x + W(k) phi(x) + drive from x(0) = A s_c.
  const torch::Tensor inv_tau = torch::exp(-log_tau);
  torch::Tensor x0 = initial_state.index_select(0, cond).matmul(A.t());  // [k, N]
  if (initial_offset.defined()) x0 = x0 + initial_offset.index_select(0, cond);
  torch::Tensor hidden, rates;
  const auto fused = fused_integration ? weights_->fused_weights(trials) : std::nullopt;
  if (fused) {
    const FusedDynamics dynamics{*fused, drive, constant_drive, structure_.input_slot, inv_tau};
    auto trajectory =
        integrate_fused(config_.solver, dynamics, x0, structure_.n_bins(), structure_.dt, config_.substeps);
    hidden = trajectory.hidden;
    rates = trajectory.rates;
  } else {
    const RecurrentWeightsImpl::RecurrentTerm recurrent = weights_->recurrent_for(trials);
    const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
      const int64_t slot = structure_.input_slot[bin];
      const torch::Tensor external = slot >= 0 ? drive.select(1, slot) : constant_drive;
      return (recurrent(torch::tanh(x)) - x + external) * inv_tau;
    };
    hidden = torch::stack(integrate(config_.solver, drift, x0, structure_.n_bins(), structure_.dt, config_.substeps));
    rates = torch::tanh(hidden);
  }

  // 4. Readout over all bins at once: yhat = C phi(x) + d.
  torch::Tensor linear = rates.matmul(readout_matrix().t());
  if (config_.readout_bias) linear = linear + readout_bias;
  return Output{hidden, linear, exp_link ? torch::exp(linear) : linear};
}

}  // namespace ltrnn
