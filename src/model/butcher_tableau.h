// The explicit Runge-Kutta methods as Butcher tableaux (docs/design.md section 3): the one
// definition that the generic solver (solvers.cpp), the fused low-rank kernels
// (fused_kernels.inc) and the exported TorchScript (export/torchscript.cpp) all read.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "model/config.h"

namespace ltrnn {

// One step of size h from x:  k_j = f(y_j),  y_j = x + h sum_{i<j} a[j][i] k_i,
//                             x'  = x + (h / b_denominator) sum_j b_numerator[j] k_j.
// The weights b_j are kept as integers over a common denominator so that the generic
// solver and the exported TorchScript evaluate x' with the same operations (and so the same
// rounding) as before there was a table; the fused kernels use b(j) = numerator / denominator.
struct ButcherTableau {
  std::vector<std::vector<double>> a;  // a[j][i] for i < j (row 0 is empty)
  std::vector<double> b_numerator;     // integers
  double b_denominator = 1;
  int64_t stages() const { return static_cast<int64_t>(b_numerator.size()); }
  double b(int64_t j) const { return b_numerator[static_cast<std::size_t>(j)] / b_denominator; }
};

// Euler (order 1), Heun's explicit trapezoid (order 2), classical Runge-Kutta (order 4).
inline ButcherTableau butcher_tableau(Solver solver) {
  switch (solver) {
    case Solver::Euler:
      return {{{}}, {1}, 1};
    case Solver::Heun:
      return {{{}, {1.0}}, {1, 1}, 2};
    case Solver::RK4:
      return {{{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}}, {1, 2, 2, 1}, 6};
  }
  throw std::logic_error("butcher_tableau: unknown solver");
}

}  // namespace ltrnn
