// Fixed-step explicit Runge-Kutta integration of dx/dt = drift(x, bin), on LibTorch tensors
// (the generic path every family can take; docs/design.md section 3).
#pragma once
#include <torch/types.h>

#include <functional>
#include <vector>

#include "model/butcher_tableau.h"

namespace ltrnn {

// dx/dt = drift(x, bin): the drift may depend on the time bin (inputs are held constant
// within a bin) but not on the position inside the bin.
using Drift = std::function<torch::Tensor(const torch::Tensor& x, int64_t bin)>;

// One step of size h from x, with the drift of `bin`, by the solver's Butcher tableau.
torch::Tensor solver_step(Solver solver, const Drift& drift, const torch::Tensor& x, int64_t bin, double h);

// States at the start of each of n_bins bins: states[0] = x0, states[t+1] is states[t]
// advanced over one bin of width dt in `substeps` equal steps. Returns n_bins tensors.
std::vector<torch::Tensor> integrate(Solver solver, const Drift& drift, const torch::Tensor& x0, int64_t n_bins,
                                     double dt, int64_t substeps);

}  // namespace ltrnn
