// Each solver shows its order of accuracy on a linear system with a known solution.
#include "model/solvers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace ltrnn {
namespace {

// dx/dt = M x, a damped rotation: x(t) = expm(M t) x0.
double error_at_one(Solver solver, int64_t substeps) {
  const torch::Tensor M = torch::tensor({{-0.3, 2.0}, {-2.0, -0.3}}, torch::kFloat64);
  const torch::Tensor x0 = torch::tensor({{1.0, 0.5}}, torch::kFloat64);  // [1, 2], a row per trial
  const Drift drift = [&](const torch::Tensor& x, int64_t) { return x.matmul(M.t()); };
  const int64_t bins = 5;  // four bins of width 0.25 -> t = 1
  const auto states = integrate(solver, drift, x0, bins, 0.25, substeps);
  const torch::Tensor exact = torch::linalg_matrix_exp(M).matmul(x0.t()).t();
  return (states.back() - exact).abs().max().item<double>();
}

void expect_order(Solver solver, double order) {
  const double coarse = error_at_one(solver, 4);
  const double fine = error_at_one(solver, 8);
  const double observed = std::log2(coarse / fine);
  EXPECT_NEAR(observed, order, 0.25) << "errors " << coarse << " -> " << fine;
}

TEST(OdeSolver, EulerIsFirstOrder) { expect_order(Solver::Euler, 1.0); }
TEST(OdeSolver, HeunIsSecondOrder) { expect_order(Solver::Heun, 2.0); }
TEST(OdeSolver, Rk4IsFourthOrder) { expect_order(Solver::RK4, 4.0); }

TEST(OdeSolver, ReturnsTheStateAtTheStartOfEveryBin) {
  const Drift zero = [](const torch::Tensor& x, int64_t) { return torch::zeros_like(x); };
  const auto states = integrate(Solver::Heun, zero, torch::ones({2, 3}), 7, 0.1, 3);
  ASSERT_EQ(states.size(), 7u);
  EXPECT_TRUE(torch::equal(states.front(), torch::ones({2, 3})));
}

}  // namespace
}  // namespace ltrnn
