// The one thing model families differ in: the recurrent weights W(k) (docs/design.md
// section 2). Dynamics, inputs, initial states, readout, loss and solver are shared
// (RnnModel). A family implements this interface in src/model/families/<name>.cpp and is
// listed once in model/family_list.h.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"
#include "model/fused_integration.h"

namespace ltrnn {

class RecurrentWeightsImpl : public torch::nn::Module {
 public:
  // rates phi(x) [k, N] -> W(k) phi(x) [k, N], for the trials a RecurrentTerm was made for.
  using RecurrentTerm = std::function<torch::Tensor(const torch::Tensor& rates)>;

  // The recurrent term for these trials [k]; whatever does not depend on the state
  // (normalised factors, smoothed per-trial values) is computed once, here.
  virtual RecurrentTerm recurrent_for(const torch::Tensor& trials) const = 0;
  // Families whose weights the fused integrator (fused_integration.h) can run return them
  // for these trials, low rank (A, B, c) or dense (W [k, N, N]); the simulation then uses
  // it instead of the generic solver with recurrent_for.
  virtual std::optional<FusedWeights> fused_weights(const torch::Tensor& /*trials*/) const { return std::nullopt; }
  // W(k) [k, N, N], dense: for tests, export and analysis, never in the ODE loop.
  virtual torch::Tensor dense_weights(const torch::Tensor& trials) const = 0;
  // Unit-norm columns [N, R_in] spanning the inputs and initial states.
  virtual torch::Tensor input_basis() const = 0;
  // The fitted weight parameters under their exported names (factors.npz, TorchScript).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_factors() const = 0;

  // The rank ladder (docs/design.md section 5), for families whose W(k) is a sum of R
  // components, each one slice along the rank axis of their parameters
  // (FamilyTraits::has_components): how strong each component is over the trials [R]
  // (the weakest is dropped first), or nothing.
  virtual std::optional<torch::Tensor> component_strengths() const { return std::nullopt; }
  // Parameters (names relative to this module) whose slice for a new component keeps its
  // fresh random draw rather than starting at zero: normalised directions, which zero would
  // leave without one.
  virtual std::vector<std::string> drawn_directions() const { return {}; }
  // Families whose W(k) is a sum of components along the input basis' columns, each scaled
  // per trial, return those scales c [k, R] for these trials [k]: the trial inputs
  // (ModelConfig::trial_inputs) drive component r along a_r in proportion to c[k,r].
  virtual std::optional<torch::Tensor> trial_scales(const torch::Tensor& /*trials*/) const { return std::nullopt; }
};

// Columns scaled to unit Euclidean norm: a_r = a_raw_r / ||a_raw_r||.
torch::Tensor unit_columns(const torch::Tensor& m);

}  // namespace ltrnn
