// The low-tensor-rank RNN (docs/design.md section 1), for every trial k:
//   tau dx_k/dt = -x_k + W(k) phi(x_k) + A (u_c(t) + v_c * c[k]) + b,  W(k) = sum_r c[k,r] a_r b_r^T,
//   x_k(0) = A s_c (+ e_c),  yhat_k(t) = C phi(x_k(t)) + d,  phi = tanh;
// the inputs act in the preparatory bins; v_c * c[k] (the trial inputs) and e_c (free initial
// states) only when enabled.
// Pellegrino, Cayco-Gajic & Chadwick, NeurIPS 2023, section 2.
#pragma once
#include <torch/torch.h>

#include "model/config.h"
#include "model/recurrent_weights.h"

namespace ltrnn {

struct Dataset;

// What the model needs to know of a dataset besides its activity.
struct TrialStructure {
  torch::Tensor condition;          // [K] int64 in 0..C-1
  torch::Tensor epoch;              // [K] int64
  torch::Tensor trial_id;           // [K] int64
  torch::Tensor session;            // [K] int64: each trial's recording session (all 0 for one)
  torch::Tensor times;              // [T] float64, the data's bin times
  std::vector<int64_t> input_slot;  // [T]: index into the input values acting in bin t, or -1
  int64_t n_conditions = 1;
  int64_t n_neurons = 1;  // D
  double dt = 1.0;        // bin width, in the units of tau

  int64_t n_trials() const { return condition.size(0); }
  int64_t n_bins() const { return static_cast<int64_t>(input_slot.size()); }
  int64_t n_input_bins() const;
  // Inputs act in preparatory bins (times < 0), and in every bin if inputs_during_execution.
  static TrialStructure from_dataset(const Dataset& dataset, const ModelConfig& config);
};

// Everything shared by the model families: initial states and inputs in the span of the
// input basis (A for tensor_rank), bias, readout, ODE solver, and the forward simulation.
// The family supplies only the recurrent weights (RecurrentWeightsImpl).
class RnnModelImpl : public torch::nn::Module {
 public:
  RnnModelImpl(ModelConfig config, TrialStructure structure);

  struct Output {
    torch::Tensor hidden;      // x [T, k, N]
    torch::Tensor linear;      // C phi(x) + d [T, k, D]
    torch::Tensor prediction;  // linear, or exp(linear) with the exponential (Poisson) link
  };
  // Simulates the given trials [k] (int64 indices into 0..K-1).
  Output simulate(const torch::Tensor& trials);
  torch::Tensor forward(const torch::Tensor& trials) { return simulate(trials).prediction; }

  torch::Tensor readout_matrix() const;  // C [D, N]
  torch::Tensor input_penalty() const;   // mean over (condition, input bin, unit) of (A u_c(t))^2
  // The trial inputs' part of the drive for these trials [k], v_c * c[k] in span(A) [k, R_in]
  // (zeros without trial inputs): constant over a trial's input bins.
  torch::Tensor trial_drive(const torch::Tensor& trials) const;
  bool has_trial_inputs() const { return trial_inputs.defined(); }
  torch::Tensor weights(const torch::Tensor& trials) const { return weights_->dense_weights(trials); }  // [k, N, N]
  // The family's fitted weight parameters under their exported names.
  std::vector<std::pair<std::string, torch::Tensor>> named_factors() const { return weights_->named_factors(); }
  // Sets the readout bias d [D] (e.g. to the training mean of each neuron).
  void set_readout_bias(const torch::Tensor& d);
  int64_t n_params() const;
  // The time constant now: exp(log_tau), config().tau unless learnt.
  double tau() const;
  const ModelConfig& config() const { return config_; }
  const TrialStructure& structure() const { return structure_; }

  // Registered parameters (names are checkpoint keys).
  std::shared_ptr<RecurrentWeightsImpl> weights_;  // registered as "weights"
  torch::Tensor initial_state;                     // s [C, R_in]: x_k(0) = A s_c
  torch::Tensor initial_offset;                    // e [C, N] (when free_initial_states): x_k(0) = A s_c + e_c
  torch::Tensor inputs;                            // u [C, T_in, R_in]: free per-bin input values, in span(A)
  torch::Tensor trial_inputs;                      // v [C, R] (when trial_inputs): input along a_r per unit of c[k,r]
  torch::Tensor bias;                              // b [R_in] in span(A) (when recurrent_bias)
  torch::Tensor readout;                           // C [D, N] (orthonormal: the raw matrix before orthonormalisation)
  torch::Tensor readout_scale;                     // [] (orthonormal readout only)
  torch::Tensor readout_bias;                      // d [D] (when readout_bias)
  torch::Tensor log_tau;                           // [] log of the time constant (trained when learn_tau)
  // Families with fused_weights (tensor_rank, full) are integrated by the fused integrator
  // (one autograd node with a hand-written backward); false selects the generic
  // per-operation autograd path, which the tests compare it with.
  bool fused_integration = true;
  bool exp_link = false;  // prediction = exp(linear): set for the Poisson loss

 private:
  ModelConfig config_;
  TrialStructure structure_;
};
TORCH_MODULE(RnnModel);

}  // namespace ltrnn
