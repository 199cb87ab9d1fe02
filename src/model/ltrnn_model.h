// The low-tensor-rank RNN (DESIGN section 1), for every trial k:
//   tau dx_k/dt = -x_k + W(k) phi(x_k) + A u_c(t) + b,  W(k) = sum_r c[k,r] a_r b_r^T,
//   x_k(0) = A s_c,  yhat_k(t) = C phi(x_k(t)) + d,  phi = tanh.
// Pellegrino, Cayco-Gajic & Chadwick, NeurIPS 2023, section 2.
#pragma once
#include <torch/torch.h>

#include "experiment/config.h"
#include "model/factors.h"

namespace ltrnn {

struct Dataset;

// What the model needs to know of a dataset besides its activity.
struct TrialStructure {
  torch::Tensor condition;   // [K] int64 in 0..C-1
  torch::Tensor epoch;       // [K] int64
  torch::Tensor trial_id;    // [K] int64
  std::vector<int64_t> input_slot;  // [T]: index into the input values acting in bin t, or -1
  int64_t n_conditions = 1;
  int64_t n_neurons = 1;     // D
  double dt = 1.0;           // bin width, in the units of tau

  int64_t n_trials() const { return condition.size(0); }
  int64_t n_bins() const { return static_cast<int64_t>(input_slot.size()); }
  int64_t n_input_bins() const;
  // Inputs act in preparatory bins (times < 0), and in every bin if inputs_during_execution.
  static TrialStructure from_dataset(const Dataset& dataset, const ModelConfig& config);
};

// Gram matrix of the trial-factor prior over trial ids [K]: rational-quadratic
// sigma^2 (1 + d^2 / (2 alpha l^2))^-alpha or squared-exponential sigma^2 exp(-d^2 / (2 l^2)),
// zeroed between different epochs when discontinuous_epochs. Returns [K, K] float64.
torch::Tensor trial_kernel(const ModelConfig& config, const torch::Tensor& trial_id, const torch::Tensor& epoch);

// The tensor-rank weight parameterisation: column factors A [N,R], row factors B [N,R]
// (unit-norm columns) and trial factors c [K,R], either c = L z + mu with
// L = chol(Kgp + s_obs^2 I) (GP prior) or free.
class TensorRankWeightsImpl : public torch::nn::Module {
 public:
  TensorRankWeightsImpl(const ModelConfig& config, const TrialStructure& structure);

  torch::Tensor column_factors() const;  // A [N, R]
  torch::Tensor row_factors() const;     // B [N, R]
  torch::Tensor trial_factors() const;   // c [K, R]
  TensorRankFactors factors() const;

  // W(k) phi for each row of rates [k, N] with its trial factors c_k [k, R]:
  // A ((phi B) * c_k) -- O(k N R), the K x N x N tensor is never built.
  static torch::Tensor recurrent_term(const torch::Tensor& rates, const torch::Tensor& A, const torch::Tensor& B,
                                      const torch::Tensor& c);

  // Raw (unnormalised) parameters, for planting a known ground truth.
  torch::Tensor column_raw, row_raw, trial_latent, trial_mean, trial_free;
  torch::Tensor trial_cholesky;  // buffer L [K, K]
 private:
  TrialPrior prior_;
};
TORCH_MODULE(TensorRankWeights);

// Everything shared by the model families: initial states and inputs in span(A), bias,
// readout, ODE solver, and the forward simulation.
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

  torch::Tensor readout_matrix() const;   // C [D, N]
  torch::Tensor input_penalty() const;    // mean over (condition, input bin, unit) of (A u_c(t))^2
  torch::Tensor weights(const torch::Tensor& trials) const;  // W(k) [k, N, N], dense
  TensorRankFactors factors() const { return weights_->factors(); }
  // Sets the readout bias d [D] (e.g. to the training mean of each neuron).
  void set_readout_bias(const torch::Tensor& d);
  int64_t n_params() const;
  const ModelConfig& config() const { return config_; }
  const TrialStructure& structure() const { return structure_; }

  // Registered parameters (names are checkpoint keys).
  TensorRankWeights weights_{nullptr};
  torch::Tensor initial_state;  // s [C, R]: x_k(0) = A s_c
  torch::Tensor inputs;         // u [C, T_in, R]: free per-bin input values, in span(A)
  torch::Tensor bias;           // b [R] in span(A) (when recurrent_bias)
  torch::Tensor readout;        // C [D, N] (orthonormal: the raw matrix before orthonormalisation)
  torch::Tensor readout_scale;  // [] (orthonormal readout only)
  torch::Tensor readout_bias;   // d [D] (when readout_bias)
  bool exp_link = false;        // prediction = exp(linear): set for the Poisson loss

 private:
  ModelConfig config_;
  TrialStructure structure_;
};
TORCH_MODULE(RnnModel);

}  // namespace ltrnn
