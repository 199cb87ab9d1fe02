// Fixed-step explicit Runge-Kutta solvers.
#include "model/ode_solver.h"

#include <torch/torch.h>

namespace ltrnn {

torch::Tensor solver_step(Solver solver, const Drift& f, const torch::Tensor& x, int64_t bin, double h) {
  switch (solver) {
    case Solver::Euler:  // x + h f(x)
      return x + h * f(x, bin);
    case Solver::Heun: {  // explicit trapezoid: x + h/2 (k1 + k2), k2 = f(x + h k1)
      const torch::Tensor k1 = f(x, bin);
      const torch::Tensor k2 = f(x + h * k1, bin);
      return x + (0.5 * h) * (k1 + k2);
    }
    case Solver::RK4: {  // classical fourth-order Runge-Kutta
      const torch::Tensor k1 = f(x, bin);
      const torch::Tensor k2 = f(x + (0.5 * h) * k1, bin);
      const torch::Tensor k3 = f(x + (0.5 * h) * k2, bin);
      const torch::Tensor k4 = f(x + h * k3, bin);
      return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
  }
  throw std::logic_error("solver_step: unknown solver");
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
