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

namespace ltrnn {

class RecurrentWeightsImpl : public torch::nn::Module {
 public:
  // rates phi(x) [k, N] -> W(k) phi(x) [k, N], for the trials a RecurrentTerm was made for.
  using RecurrentTerm = std::function<torch::Tensor(const torch::Tensor& rates)>;

  // The recurrent term for these trials [k]; whatever does not depend on the state
  // (normalised factors, smoothed per-trial values) is computed once, here.
  virtual RecurrentTerm recurrent_for(const torch::Tensor& trials) const = 0;
  // Families whose weights are W(k) = A diag(c_k) B^T return (A [N, R], B [N, R], c [k, R])
  // for these trials; the simulation then uses the fused integrator (low_rank_integration.h).
  struct LowRankForm {
    torch::Tensor A, B, c;
  };
  virtual std::optional<LowRankForm> low_rank_form(const torch::Tensor& /*trials*/) const { return std::nullopt; }
  // W(k) [k, N, N], dense: for tests, export and analysis, never in the ODE loop.
  virtual torch::Tensor dense_weights(const torch::Tensor& trials) const = 0;
  // Unit-norm columns [N, R_in] spanning the inputs and initial states.
  virtual torch::Tensor input_basis() const = 0;
  // The fitted weight parameters under their exported names (factors.npz, TorchScript).
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_factors() const = 0;
};

// Columns scaled to unit Euclidean norm: a_r = a_raw_r / ||a_raw_r||.
torch::Tensor unit_columns(const torch::Tensor& m);

}  // namespace ltrnn
