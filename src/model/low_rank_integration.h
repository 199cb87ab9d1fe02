// The ODE of docs/design.md section 1 for weights of the form W(k) = A diag(c_k) B^T (tensor_rank),
// integrated as one autograd node with a hand-written backward (the discrete adjoint of the
// explicit Runge-Kutta step). The generic path (model/solvers.h with a RecurrentTerm) records
// about 20 autograd nodes per step; on B1 their bookkeeping cost more than the arithmetic.
#pragma once
#include <torch/types.h>

#include <vector>

#include "model/config.h"

namespace ltrnn {

// tau dx/dt = -x + A ((B^T tanh x) * c_k) + e(bin), for the trials' rows of x.
struct LowRankDynamics {
  torch::Tensor A;                  // [N, R] column factors
  torch::Tensor B;                  // [N, R] row factors
  torch::Tensor c;                  // [k, R] trial factors of the simulated trials
  torch::Tensor drive;              // [k, T_in, N] external drive of the bins that have inputs
  torch::Tensor constant_drive;     // [N] drive of the other bins
  std::vector<int64_t> input_slot;  // [T] index into drive's second axis, or -1
  double inv_tau = 1.0;
};

struct Trajectory {
  torch::Tensor hidden;  // x [T, k, N] at the start of each bin (hidden[0] = x0)
  torch::Tensor rates;   // tanh(x) [T, k, N]
};

// Same numbers as integrate() of model/solvers.h with the drift above; differentiable in x0,
// A, B, c, drive and constant_drive (first derivatives only).
Trajectory integrate_low_rank(Solver solver, const LowRankDynamics& dynamics, const torch::Tensor& x0, int64_t n_bins,
                              double dt, int64_t substeps);

}  // namespace ltrnn
