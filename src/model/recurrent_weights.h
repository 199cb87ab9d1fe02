// The one thing model families differ in: the recurrent weights W(k) (DESIGN section 1).
// Dynamics, inputs, initial states, readout, loss and solver are shared (RnnModel).
// A new family is one file implementing this interface plus one line in
// make_recurrent_weights (recurrent_weights.cpp).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "experiment/config.h"

namespace ltrnn {

struct TrialStructure;

class RecurrentWeightsImpl : public torch::nn::Module {
 public:
  // rates phi(x) [k, N] -> W(k) phi(x) [k, N], for the trials a RecurrentTerm was made for.
  using RecurrentTerm = std::function<torch::Tensor(const torch::Tensor& rates)>;

  // The recurrent term for these trials [k]; whatever does not depend on the state
  // (normalised factors, smoothed per-trial values) is computed once, here.
  virtual RecurrentTerm recurrent_for(const torch::Tensor& trials) const = 0;
  // W(k) [k, N, N], dense: for tests, export and analysis, never in the ODE loop.
  virtual torch::Tensor dense_weights(const torch::Tensor& trials) const = 0;
  // Unit-norm columns [N, R_in] spanning the inputs and initial states.
  virtual torch::Tensor input_basis() const = 0;
  // The fitted weight parameters under their exported names (factors.npz, TorchScript).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_factors() const = 0;
};

// Columns scaled to unit Euclidean norm: a_r = a_raw_r / ||a_raw_r||.
torch::Tensor unit_columns(const torch::Tensor& m);

// The registry: builds the weights of config.kind.
std::shared_ptr<RecurrentWeightsImpl> make_recurrent_weights(const ModelConfig& config,
                                                             const TrialStructure& structure);

}  // namespace ltrnn
