// Per-trial kernels of the fused integrator (fused_integration.cpp).
//
// Trials evolve independently, so one trial's whole trajectory is integrated (and, in the
// backward, its adjoint run) in one go, with its state, stage values and slopes in L1 and
// its weights in L2: one pass over memory where the LibTorch formulation made one pass and
// one dispatch per operation and step, and the per-trial products skip BLAS (whose fixed
// cost per call dominated them). Plain C++, no LibTorch; compiled generically and for
// AVX2+FMA, chosen at run time.
#pragma once
#include <cstdint>
#include <vector>

#include "model/butcher_tableau.h"

namespace ltrnn {

// One integration: sizes, solver, weights, inputs and where each trial's outputs go. All
// blocks are dense row-major. The recurrent term W(k) r takes one of two forms:
//   low rank  W(k) = A diag(c_k) B^T   (At, Bt, c; `W` null): 2 N R per evaluation, with A
//             and B shared by all trials (tensor_rank) or each trial's own and c null
//             (matrix_rank: W(k) = U(k) V(k)^T)
//   dense     W(k) (`W`; At, Bt, c null): N^2 per evaluation, each trial's own [trials, N, N]
//             (full) or one [N, N] for all (static)
template <class Scalar>
struct FusedProblem {
  int64_t trials = 0, N = 0, R = 0, n_bins = 0, substeps = 1;
  ButcherTableau tableau;
  double h = 0, inv_tau = 1;
  const int64_t* input_slot = nullptr;     // [n_bins]: index into drive's bin axis, or -1
  const Scalar* At = nullptr;              // low rank: A^T [R, N], or [trials, R, N] per trial
  const Scalar* Bt = nullptr;              // low rank: B^T, as At
  const Scalar* c = nullptr;               // low rank: [trials, R]; null: all ones
  const Scalar* W = nullptr;               // dense: [N, N], or [trials, N, N] per trial; W[i][j] at i N + j
  bool per_trial_weights = false;          // At, Bt or W have a leading trial axis
  const Scalar* drive = nullptr;           // [trials, T_in, N]
  int64_t drive_bins = 0;                  // T_in
  const Scalar* constant_drive = nullptr;  // [N]
  Scalar* hidden = nullptr;                // [n_bins, trials, N]
  Scalar* rates = nullptr;                 // [n_bins, trials, N] tanh(hidden)
  Scalar* stage_rates = nullptr;           // [steps, stages, trials, N] tanh of each stage's state
  Scalar* stage_projections = nullptr;     // low rank: [steps, stages, trials, R] (tanh(y) B) of each stage
  Scalar* stage_states = nullptr;          // [steps, stages, trials, N] each stage's state y (null: not kept)
  bool dense() const { return W != nullptr; }
};

// Forward for trials [begin, end): reads x0 [trials, N], writes hidden, rates, stage_rates,
// (low rank) stage_projections and (when asked for) stage_states.
template <class Scalar>
void integrate_trials(const FusedProblem<Scalar>& p, const Scalar* x0, int64_t begin, int64_t end);

// Gradients accumulated by one group of trials (summed over groups afterwards, in order).
template <class Scalar>
struct SharedGradients {
  std::vector<Scalar> dAt, dBt, dW, d_constant;  // [R, N], [R, N], [N, N] (shared dense), [N]
  SharedGradients(int64_t N, int64_t R, bool shared_dense)
      : dAt(R * N), dBt(R * N), dW(shared_dense ? N * N : 0), d_constant(N) {}
};

// Where the backward writes each trial's own gradients (rows of trials [begin, end);
// zeroed by the caller except dx0, which is overwritten).
template <class Scalar>
struct TrialGradients {
  Scalar* dx0 = nullptr;      // [trials, N]
  Scalar* dc = nullptr;       // low rank with c: [trials, R]
  Scalar* dAt = nullptr;      // low rank, per-trial factors: [trials, R, N] (else in SharedGradients)
  Scalar* dBt = nullptr;      // as dAt
  Scalar* dW = nullptr;       // dense, per trial: [trials, N, N] (else in SharedGradients)
  Scalar* d_drive = nullptr;  // [trials, T_in, N]
  // [trials]: dL/d(1/tau) of each trial, sum_j dL/dk_j . (W r_j + e - y_j) over its stages
  // (needs stage_states; null: not wanted).
  Scalar* d_inv_tau = nullptr;
};

// Backward for trials [begin, end) given dL/dhidden and dL/drates (either may be null):
// writes the trials' rows of `out` and adds to `shared`. See fused_integration.cpp for the
// equations.
template <class Scalar>
void adjoint_trials(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                    const TrialGradients<Scalar>& out, SharedGradients<Scalar>& shared, int64_t begin, int64_t end);

// tanh for float without a library call, so that the row loops vectorise: an odd Taylor
// polynomial for |x| < 0.25, (1 - e)/(1 + e) with e = exp(-2|x|) otherwise. Max error about
// 3e-7 relative (tested against std::tanh); float64 uses std::tanh.
float tanh_float(float x);

}  // namespace ltrnn
