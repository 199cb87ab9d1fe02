// Per-trial kernels of the fused low-rank integrator (low_rank_integration.cpp).
//
// Trials evolve independently, so one trial's whole trajectory is integrated (and, in the
// backward, its adjoint run) in one go, with its state, stage values and slopes in L1:
// one pass over memory where the LibTorch formulation made one pass and one dispatch per
// operation and step, and the skinny [k, N] x [N, R] products skip BLAS (whose fixed cost
// per call dominated them). Plain C++, no LibTorch; compiled generically and for
// AVX2+FMA, chosen at run time.
#pragma once
#include <cstdint>
#include <vector>

#include "model/butcher_tableau.h"

namespace ltrnn {

// One integration: sizes, solver, factors, inputs and where each trial's outputs go. All
// blocks are dense row-major; "trial stride" is the distance between consecutive trials.
template <class Scalar>
struct LowRankProblem {
  int64_t trials = 0, N = 0, R = 0, n_bins = 0, substeps = 1;
  ButcherTableau tableau;
  double h = 0, inv_tau = 1;
  const int64_t* input_slot = nullptr;     // [n_bins]: index into drive's bin axis, or -1
  const Scalar* At = nullptr;              // A^T [R, N]
  const Scalar* Bt = nullptr;              // B^T [R, N]
  const Scalar* c = nullptr;               // [trials, R]
  const Scalar* drive = nullptr;           // [trials, T_in, N]
  int64_t drive_bins = 0;                  // T_in
  const Scalar* constant_drive = nullptr;  // [N]
  Scalar* hidden = nullptr;                // [n_bins, trials, N]
  Scalar* rates = nullptr;                 // [n_bins, trials, N] tanh(hidden)
  Scalar* stage_rates = nullptr;           // [steps, stages, trials, N] tanh of each stage's state
  Scalar* stage_projections = nullptr;     // [steps, stages, trials, R] (tanh(y) B) of each stage
};

// Forward for trials [begin, end): reads x0 [trials, N], writes hidden, rates, stage_rates
// and stage_projections.
template <class Scalar>
void integrate_trials(const LowRankProblem<Scalar>& p, const Scalar* x0, int64_t begin, int64_t end);

// Gradients accumulated by one group of trials (summed over groups afterwards, in order).
template <class Scalar>
struct SharedGradients {
  std::vector<Scalar> dAt, dBt, d_constant;  // [R, N], [R, N], [N]
  SharedGradients(int64_t N, int64_t R) : dAt(R * N), dBt(R * N), d_constant(N) {}
};

// Backward for trials [begin, end) given dL/dhidden and dL/drates (either may be null):
// writes the trials' rows of dx0, dc [trials, R] and d_drive [trials, T_in, N] (zeroed by
// the caller) and adds to `shared`. See low_rank_integration.cpp for the equations.
template <class Scalar>
void adjoint_trials(const LowRankProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates, Scalar* dx0,
                    Scalar* dc, Scalar* d_drive, SharedGradients<Scalar>& shared, int64_t begin, int64_t end);

// tanh for float without a library call, so that the row loops vectorise: an odd Taylor
// polynomial for |x| < 0.25, (1 - e)/(1 + e) with e = exp(-2|x|) otherwise. Max error about
// 3e-7 relative (tested against std::tanh); float64 uses std::tanh.
float tanh_float(float x);

}  // namespace ltrnn
