// Fixed-step explicit Runge-Kutta solvers, driven by model/butcher_tableau.h.
#include "model/solvers.h"

#include <torch/torch.h>

namespace ltrnn {

namespace {

// The tableaux built once: solver_step runs at every substep of every bin.
const ButcherTableau& tableau_of(Solver solver) {
  static const ButcherTableau euler = butcher_tableau(Solver::Euler), heun = butcher_tableau(Solver::Heun),
                              rk4 = butcher_tableau(Solver::RK4);
  return solver == Solver::Euler ? euler : solver == Solver::Heun ? heun : rk4;
}

}  // namespace

torch::Tensor solver_step(Solver solver, const Drift& f, const torch::Tensor& x, int64_t bin, double h) {
  const ButcherTableau& tableau = tableau_of(solver);
  // 1. Stages: k_j = f(x + h sum_{i<j} a_ji k_i).
  std::vector<torch::Tensor> k;
  for (int64_t j = 0; j < tableau.stages(); ++j) {
    torch::Tensor y = x;
    for (std::size_t i = 0; i < tableau.a[j].size(); ++i)
      if (tableau.a[j][i] != 0) y = y + (h * tableau.a[j][i]) * k[i];
    k.push_back(f(y, bin));
  }
  // 2. x' = x + (h / denominator) sum_j numerator_j k_j.
  const auto weighted = [&](int64_t j) {
    const double n = tableau.b_numerator[j];
    return n == 1 ? k[j] : n * k[j];
  };
  torch::Tensor sum = weighted(0);
  for (int64_t j = 1; j < tableau.stages(); ++j) sum = sum + weighted(j);
  return x + (h / tableau.b_denominator) * sum;
}

std::vector<torch::Tensor> integrate(Solver solver, const Drift& drift, const torch::Tensor& x0, int64_t n_bins,
                                     double dt, int64_t substeps) {
  std::vector<torch::Tensor> states;
  states.reserve(n_bins);
  states.push_back(x0);
  const double h = dt / static_cast<double>(substeps);
  torch::Tensor x = x0;
  for (int64_t bin = 0; bin + 1 < n_bins; ++bin) {
    for (int64_t s = 0; s < substeps; ++s) x = solver_step(solver, drift, x, bin, h);
    states.push_back(x);
  }
  return states;
}

}  // namespace ltrnn
