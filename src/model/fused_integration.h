// The ODE of docs/design.md section 1 integrated as one autograd node with a hand-written
// backward (the discrete adjoint of the explicit Runge-Kutta step), for weights W(k) of a
// form the per-trial kernels run: low rank (tensor_rank) or a dense matrix per trial
// (full). The generic path (model/solvers.h with a RecurrentTerm) records about 20 autograd
// nodes per step; on B1 their bookkeeping cost more than the arithmetic, and for `full` it
// kept every trial's W(k) product per evaluation (5.2 GiB on B1).
#pragma once
#include <torch/types.h>

#include <vector>

#include "model/config.h"

namespace ltrnn {

// W(k) for the simulated trials, in one of the two forms (the other's tensors undefined).
struct FusedWeights {
  torch::Tensor A;  // low rank: [N, R] column factors shared by all trials, or [k, N, R] each trial's own
  torch::Tensor B;  // low rank: row factors, as A
  torch::Tensor c;  // low rank: [k, R] trial factors, or undefined (all ones);  W(k) = A diag(c_k) B^T
  torch::Tensor W;  // dense: [k, N, N] each trial's own, or [N, N] shared by all trials
  // tensor_rank: W(k) = A diag(c_k) B^T.
  static FusedWeights low_rank(torch::Tensor A, torch::Tensor B, torch::Tensor c) {
    return {std::move(A), std::move(B), std::move(c), {}};
  }
  // matrix_rank: W(k) = U(k) V(k)^T with U, V [k, N, R].
  static FusedWeights per_trial_low_rank(torch::Tensor U, torch::Tensor V) {
    return {std::move(U), std::move(V), {}, {}};
  }
  // full: W(k) [k, N, N]; static: one W [N, N] for every trial.
  static FusedWeights dense(torch::Tensor W) { return {{}, {}, {}, std::move(W)}; }
};

// tau dx/dt = -x + W(k) tanh x + e(bin), for the trials' rows of x.
struct FusedDynamics {
  FusedWeights weights;
  torch::Tensor drive;              // [k, T_in, N] external drive of the bins that have inputs
  torch::Tensor constant_drive;     // [N] drive of the other bins
  std::vector<int64_t> input_slot;  // [T] index into drive's second axis, or -1
  torch::Tensor inv_tau;            // 1/tau, a scalar; differentiable (learnt tau) or a constant
};

struct Trajectory {
  torch::Tensor hidden;  // x [T, k, N] at the start of each bin (hidden[0] = x0)
  torch::Tensor rates;   // tanh(x) [T, k, N]
};

// Same numbers as integrate() of model/solvers.h with the drift above; differentiable in x0,
// the weights' tensors, drive, constant_drive and inv_tau (first derivatives only).
Trajectory integrate_fused(Solver solver, const FusedDynamics& dynamics, const torch::Tensor& x0, int64_t n_bins,
                           double dt, int64_t substeps);

}  // namespace ltrnn
