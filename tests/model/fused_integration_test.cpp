// The fused integrator against the generic per-operation autograd path: same trajectory
// and the same gradients (including that of 1/tau) for every solver, with and without
// substeps, for low-rank, per-trial low-rank, dense and shared dense weights.
#include "model/fused_integration.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "model/families/tensor_rank.h"
#include "model/fused_kernels.h"
#include "model/solvers.h"

namespace ltrnn {
namespace {

// 1/tau as the integrator takes it: a scalar tensor; a leaf, so that its gradient is checked.
torch::Tensor inverse_tau(double value) { return torch::full({}, value, torch::kFloat64).set_requires_grad(true); }

// Every solver, with one and with three substeps per bin.
const auto kSolverGrid =
    ::testing::Combine(::testing::Values(Solver::Euler, Solver::Heun, Solver::RK4), ::testing::Values<int64_t>(1, 3));
std::string solver_grid_name(const ::testing::TestParamInfo<std::tuple<Solver, int64_t>>& info) {
  return to_string(std::get<0>(info.param)) + "_substeps" + std::to_string(std::get<1>(info.param));
}

struct Inputs {
  torch::Tensor x0, A, B, c, drive, constant_drive, inv_tau;
  std::vector<torch::Tensor> all() const { return {x0, A, B, c, drive, constant_drive, inv_tau}; }
};

Inputs random_inputs(int64_t k, int64_t N, int64_t R, int64_t T_in, double inv_tau = 10.0) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true);
  return {torch::randn({k, N}, f64), torch::randn({N, R}, f64) / 2,   torch::randn({N, R}, f64) / 2,
          torch::randn({k, R}, f64), torch::randn({k, T_in, N}, f64), torch::randn({N}, f64),
          inverse_tau(inv_tau)};
}

// The reference: model/solvers.h's integrate() with the drift written out as in RnnModel.
Trajectory generic(Solver solver, const Inputs& in, const std::vector<int64_t>& slots, double dt, int64_t substeps) {
  const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
    const torch::Tensor e = slots[bin] >= 0 ? in.drive.select(1, slots[bin]) : in.constant_drive;
    return (TensorRankWeightsImpl::recurrent_term(torch::tanh(x), in.A, in.B, in.c) - x + e) * in.inv_tau;
  };
  const torch::Tensor hidden =
      torch::stack(integrate(solver, drift, in.x0, static_cast<int64_t>(slots.size()), dt, substeps));
  return {hidden, torch::tanh(hidden)};
}

class LowRankIntegrationTest : public ::testing::TestWithParam<std::tuple<Solver, int64_t>> {};

TEST_P(LowRankIntegrationTest, MatchesTheGenericPathInValueAndGradient) {
  const auto [solver, substeps] = GetParam();
  torch::manual_seed(3);
  const int64_t k = 5, N = 7, R = 2;
  const std::vector<int64_t> slots{0, 1, 2, -1, -1, -1};  // inputs in the first three bins
  const Inputs in = random_inputs(k, N, R, 3);
  const double dt = 0.05;

  const FusedDynamics dynamics{FusedWeights::low_rank(in.A, in.B, in.c), in.drive, in.constant_drive, slots,
                               in.inv_tau};
  const Trajectory fused = integrate_fused(solver, dynamics, in.x0, 6, dt, substeps);
  const Trajectory reference = generic(solver, in, slots, dt, substeps);
  EXPECT_TRUE(torch::allclose(fused.hidden, reference.hidden, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(fused.rates, reference.rates, 1e-12, 1e-12));

  // A random linear functional of both outputs, so that both incoming gradients matter.
  const torch::Tensor wh = torch::randn_like(fused.hidden), wr = torch::randn_like(fused.rates);
  const auto gradients = [&](const Trajectory& t) {
    return torch::autograd::grad({(t.hidden * wh).sum() + (t.rates * wr).sum()}, in.all());
  };
  const auto g_fused = gradients(fused), g_reference = gradients(reference);
  const char* names[] = {"x0", "A", "B", "c", "drive", "constant_drive", "inv_tau"};
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_fused[i], g_reference[i], 1e-10, 1e-12))
        << names[i] << ": max difference " << (g_fused[i] - g_reference[i]).abs().max().item<double>();
}

TEST_P(LowRankIntegrationTest, GradientOfHiddenAloneMatches) {
  // Only `hidden` used downstream: the rates' incoming gradient is undefined.
  const auto [solver, substeps] = GetParam();
  torch::manual_seed(4);
  const std::vector<int64_t> slots{-1, 0, -1, 1};
  const Inputs in = random_inputs(3, 6, 3, 2, 5.0);
  const FusedDynamics dynamics{FusedWeights::low_rank(in.A, in.B, in.c), in.drive, in.constant_drive, slots,
                               in.inv_tau};
  const torch::Tensor fused = integrate_fused(solver, dynamics, in.x0, 4, 0.1, substeps).hidden;
  const torch::Tensor reference = generic(solver, in, slots, 0.1, substeps).hidden;
  const auto g_fused = torch::autograd::grad({fused.pow(2).sum()}, in.all());
  const auto g_reference = torch::autograd::grad({reference.pow(2).sum()}, in.all());
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_fused[i], g_reference[i], 1e-10, 1e-12));
}

INSTANTIATE_TEST_SUITE_P(Solvers, LowRankIntegrationTest, kSolverGrid, solver_grid_name);

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {

TEST(TanhFloat, AgreesWithTheLibraryTanh) {
  // A dense grid over the range that matters plus the tails: relative error < 4e-7
  // (a few float ulps), exact sign and saturation.
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = static_cast<float>(i) * 1e-4f;  // [-20, 20]
    const double exact = std::tanh(static_cast<double>(x));
    const double error = std::abs(tanh_float(x) - exact) / std::max(std::abs(exact), 1e-30);
    worst = std::max(worst, x == 0 ? 0.0 : error);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(tanh_float(0.0f), 0.0f);
  EXPECT_FLOAT_EQ(tanh_float(1e-6f), 1e-6f);
  EXPECT_EQ(tanh_float(50.0f), 1.0f);
  EXPECT_EQ(tanh_float(-50.0f), -1.0f);
}

TEST(LowRankIntegrationFloat, MatchesTheGenericPathToSinglePrecision) {
  torch::manual_seed(5);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).requires_grad(true);
  const int64_t k = 20, N = 30, R = 3;
  const std::vector<int64_t> slots{0, 1, -1, -1, -1, -1, -1, -1};
  const torch::Tensor x0 = torch::randn({k, N}, f32), A = (torch::randn({N, R}) / 3).set_requires_grad(true),
                      B = (torch::randn({N, R}) / 3).set_requires_grad(true), c = torch::randn({k, R}, f32),
                      drive = torch::randn({k, 2, N}, f32), constant = torch::zeros({N}, f32);
  const torch::Tensor inv_tau = inverse_tau(10.0);
  const FusedDynamics dynamics{FusedWeights::low_rank(A, B, c), drive, constant, slots, inv_tau};
  const Trajectory fused = integrate_fused(Solver::Heun, dynamics, x0, 8, 0.02, 1);
  const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
    const torch::Tensor e = slots[bin] >= 0 ? drive.select(1, slots[bin]) : constant;
    return (TensorRankWeightsImpl::recurrent_term(torch::tanh(x), A, B, c) - x + e) * inv_tau.to(torch::kFloat32);
  };
  const torch::Tensor reference = torch::stack(integrate(Solver::Heun, drift, x0, 8, 0.02, 1));
  EXPECT_LT((fused.hidden - reference).abs().max().item<double>(), 1e-5);
  const auto g_fused = torch::autograd::grad({fused.rates.sum()}, {x0, A, B, c, drive, inv_tau});
  const auto g_reference = torch::autograd::grad({torch::tanh(reference).sum()}, {x0, A, B, c, drive, inv_tau});
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_LT((g_fused[i] - g_reference[i]).abs().max().item<double>(),
              1e-4 * std::max(1.0, g_reference[i].abs().max().item<double>()));
}

// Trajectory and every gradient bit for bit equal with 1 and 2 threads (5 bins, 2 substeps).
void expect_same_numbers_for_any_thread_count(Solver solver, const FusedDynamics& dynamics, const torch::Tensor& x0,
                                              const std::vector<torch::Tensor>& inputs) {
  const int threads_before = torch::get_num_threads();
  std::vector<std::vector<torch::Tensor>> results;
  for (int threads : {1, 2}) {
    torch::set_num_threads(threads);
    const Trajectory t = integrate_fused(solver, dynamics, x0, 5, 0.02, 2);
    auto grads = torch::autograd::grad({(t.rates * t.rates).sum()}, inputs);
    grads.push_back(t.hidden.detach());
    results.push_back(grads);
  }
  torch::set_num_threads(threads_before);
  for (std::size_t i = 0; i < results[0].size(); ++i) EXPECT_TRUE(torch::equal(results[0][i], results[1][i])) << i;
}

TEST(LowRankIntegration, SameNumbersForAnyThreadCount) {
  torch::manual_seed(6);
  const int64_t k = 37, N = 16, R = 2;  // groups of trials, the last one partial
  const std::vector<int64_t> slots{0, -1, -1, -1, -1};
  const Inputs in = random_inputs(k, N, R, 1);
  const FusedDynamics dynamics{FusedWeights::low_rank(in.A, in.B, in.c), in.drive, in.constant_drive, slots,
                               in.inv_tau};
  expect_same_numbers_for_any_thread_count(Solver::RK4, dynamics, in.x0, in.all());
}

}  // namespace
}  // namespace ltrnn

// Dense weights: W(k) [k, N, N] (the `full` family), or one W [N, N] for all (`static`).
namespace ltrnn {
namespace {

struct DenseInputs {
  torch::Tensor x0, W, drive, constant_drive, inv_tau;
  std::vector<torch::Tensor> all() const { return {x0, W, drive, constant_drive, inv_tau}; }
};

// shared: one W [N, N] for every trial.
DenseInputs random_dense_inputs(int64_t k, int64_t N, int64_t T_in, torch::Dtype dtype = torch::kFloat64,
                                bool shared = false) {
  const auto options = torch::TensorOptions().dtype(dtype);
  const auto leaf = [](torch::Tensor t) { return t.set_requires_grad(true); };
  const std::vector<int64_t> weight_shape = shared ? std::vector<int64_t>{N, N} : std::vector<int64_t>{k, N, N};
  return {leaf(torch::randn({k, N}, options)), leaf(torch::randn(weight_shape, options) / std::sqrt(double(N))),
          leaf(torch::randn({k, T_in, N}, options)), leaf(torch::randn({N}, options)), inverse_tau(10.0)};
}

// The reference: integrate() with the drift's recurrent term an explicit batched
// matrix-vector product, W(k) tanh(x) for each trial.
torch::Tensor generic_dense(Solver solver, const DenseInputs& in, const std::vector<int64_t>& slots, double dt,
                            int64_t substeps) {
  const int64_t k = in.x0.size(0), N = in.x0.size(1);
  const torch::Tensor W = in.W.dim() == 2 ? in.W.expand({k, N, N}) : in.W;
  const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
    const torch::Tensor e = slots[bin] >= 0 ? in.drive.select(1, slots[bin]) : in.constant_drive;
    return (torch::bmm(W, torch::tanh(x).unsqueeze(2)).squeeze(2) - x + e) * in.inv_tau.to(x.scalar_type());
  };
  return torch::stack(integrate(solver, drift, in.x0, static_cast<int64_t>(slots.size()), dt, substeps));
}

class DenseIntegrationTest : public ::testing::TestWithParam<std::tuple<Solver, int64_t>> {};

void expect_dense_matches_generic_path(Solver solver, int64_t substeps, bool shared) {
  const std::vector<int64_t> slots{0, 1, 2, -1, -1, -1};
  // 11 trials: two groups of trials, the second partial.
  const DenseInputs in = random_dense_inputs(11, 9, 3, torch::kFloat64, shared);
  const double dt = 0.05;
  const FusedDynamics dynamics{FusedWeights::dense(in.W), in.drive, in.constant_drive, slots, in.inv_tau};
  const Trajectory fused = integrate_fused(solver, dynamics, in.x0, 6, dt, substeps);
  const torch::Tensor reference = generic_dense(solver, in, slots, dt, substeps);
  EXPECT_TRUE(torch::allclose(fused.hidden, reference, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(fused.rates, torch::tanh(reference), 1e-12, 1e-12));

  const torch::Tensor wh = torch::randn_like(reference), wr = torch::randn_like(reference);
  const auto g_fused = torch::autograd::grad({(fused.hidden * wh).sum() + (fused.rates * wr).sum()}, in.all());
  const auto g_reference =
      torch::autograd::grad({(reference * wh).sum() + (torch::tanh(reference) * wr).sum()}, in.all());
  const char* names[] = {"x0", "W", "drive", "constant_drive", "inv_tau"};
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_fused[i], g_reference[i], 1e-10, 1e-12))
        << names[i] << ": max difference " << (g_fused[i] - g_reference[i]).abs().max().item<double>();
}

TEST_P(DenseIntegrationTest, MatchesTheGenericPathInValueAndGradient) {
  const auto [solver, substeps] = GetParam();
  torch::manual_seed(13);
  expect_dense_matches_generic_path(solver, substeps, /*shared=*/false);
}

TEST_P(DenseIntegrationTest, SharedWeightsMatchTheGenericPathInValueAndGradient) {
  const auto [solver, substeps] = GetParam();
  torch::manual_seed(17);
  expect_dense_matches_generic_path(solver, substeps, /*shared=*/true);
}

INSTANTIATE_TEST_SUITE_P(Solvers, DenseIntegrationTest, kSolverGrid, solver_grid_name);

// dL/dW(k) against central differences of the fused integrator itself, entry by entry
// (float64): the adjoint is checked without any autograd.
TEST(DenseIntegration, WeightGradientMatchesFiniteDifferences) {
  torch::manual_seed(14);
  const std::vector<int64_t> slots{0, -1, -1, -1, -1};
  const DenseInputs in = random_dense_inputs(3, 5, 1);
  const torch::Tensor weight = torch::randn({5, 3, 5}, torch::kFloat64);
  const auto loss = [&](const torch::Tensor& W) {
    const FusedDynamics dynamics{FusedWeights::dense(W), in.drive, in.constant_drive, slots, in.inv_tau};
    return (integrate_fused(Solver::RK4, dynamics, in.x0, 5, 0.05, 2).rates * weight).sum();
  };
  const torch::Tensor analytic = torch::autograd::grad({loss(in.W)}, {in.W})[0];
  torch::NoGradGuard no_grad;
  const double h = 1e-6;
  for (int64_t index = 0; index < in.W.numel(); index += 7) {
    torch::Tensor plus = in.W.detach().clone(), minus = in.W.detach().clone();
    plus.view({-1})[index] += h;
    minus.view({-1})[index] -= h;
    const double numeric = (loss(plus).item<double>() - loss(minus).item<double>()) / (2 * h);
    EXPECT_NEAR(analytic.view({-1})[index].item<double>(), numeric, 1e-7 + 1e-6 * std::abs(numeric)) << index;
  }
}

TEST(DenseIntegrationFloat, MatchesTheGenericPathToSinglePrecision) {
  torch::manual_seed(15);
  const std::vector<int64_t> slots{0, 1, -1, -1, -1, -1, -1, -1};
  const DenseInputs in = random_dense_inputs(20, 30, 2, torch::kFloat32);
  const FusedDynamics dynamics{FusedWeights::dense(in.W), in.drive, in.constant_drive, slots, in.inv_tau};
  const Trajectory fused = integrate_fused(Solver::Heun, dynamics, in.x0, 8, 0.02, 1);
  const torch::Tensor reference = generic_dense(Solver::Heun, in, slots, 0.02, 1);
  EXPECT_LT((fused.hidden - reference).abs().max().item<double>(), 1e-5);
  const auto g_fused = torch::autograd::grad({fused.rates.sum()}, in.all());
  const auto g_reference = torch::autograd::grad({torch::tanh(reference).sum()}, in.all());
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_LT((g_fused[i] - g_reference[i]).abs().max().item<double>(),
              1e-4 * std::max(1.0, g_reference[i].abs().max().item<double>()))
        << i;
}

TEST(DenseIntegration, SameNumbersForAnyThreadCount) {
  torch::manual_seed(16);
  const std::vector<int64_t> slots{0, -1, -1, -1, -1};
  for (bool shared : {false, true}) {
    const DenseInputs in = random_dense_inputs(37, 16, 1, torch::kFloat64, shared);
    const FusedDynamics dynamics{FusedWeights::dense(in.W), in.drive, in.constant_drive, slots, in.inv_tau};
    expect_same_numbers_for_any_thread_count(Solver::RK4, dynamics, in.x0, in.all());
  }
}

}  // namespace
}  // namespace ltrnn

// Each trial's own low-rank factors, W(k) = U(k) V(k)^T (the `matrix_rank` family).
namespace ltrnn {
namespace {

struct PerTrialInputs {
  torch::Tensor x0, U, V, drive, constant_drive, inv_tau;
  std::vector<torch::Tensor> all() const { return {x0, U, V, drive, constant_drive, inv_tau}; }
};

PerTrialInputs random_per_trial_inputs(int64_t k, int64_t N, int64_t R, int64_t T_in) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true);
  return {torch::randn({k, N}, f64),       torch::randn({k, N, R}, f64) / 2, torch::randn({k, N, R}, f64) / 2,
          torch::randn({k, T_in, N}, f64), torch::randn({N}, f64),           inverse_tau(12.0)};
}

// The reference: U(k) (V(k)^T tanh x) as two explicit batched products.
torch::Tensor generic_per_trial(Solver solver, const PerTrialInputs& in, const std::vector<int64_t>& slots, double dt,
                                int64_t substeps) {
  const Drift drift = [&](const torch::Tensor& x, int64_t bin) {
    const torch::Tensor e = slots[bin] >= 0 ? in.drive.select(1, slots[bin]) : in.constant_drive;
    const torch::Tensor projected = torch::bmm(in.V.transpose(1, 2), torch::tanh(x).unsqueeze(2));
    return (torch::bmm(in.U, projected).squeeze(2) - x + e) * in.inv_tau;
  };
  return torch::stack(integrate(solver, drift, in.x0, static_cast<int64_t>(slots.size()), dt, substeps));
}

class PerTrialLowRankIntegrationTest : public ::testing::TestWithParam<std::tuple<Solver, int64_t>> {};

TEST_P(PerTrialLowRankIntegrationTest, MatchesTheGenericPathInValueAndGradient) {
  const auto [solver, substeps] = GetParam();
  torch::manual_seed(23);
  const std::vector<int64_t> slots{0, 1, -1, -1, 2, -1};
  const PerTrialInputs in = random_per_trial_inputs(10, 7, 3, 3);
  const FusedDynamics dynamics{FusedWeights::per_trial_low_rank(in.U, in.V), in.drive, in.constant_drive, slots,
                               in.inv_tau};
  const Trajectory fused = integrate_fused(solver, dynamics, in.x0, 6, 0.04, substeps);
  const torch::Tensor reference = generic_per_trial(solver, in, slots, 0.04, substeps);
  EXPECT_TRUE(torch::allclose(fused.hidden, reference, 1e-12, 1e-12));
  const torch::Tensor wh = torch::randn_like(reference), wr = torch::randn_like(reference);
  const auto g_fused = torch::autograd::grad({(fused.hidden * wh).sum() + (fused.rates * wr).sum()}, in.all());
  const auto g_reference =
      torch::autograd::grad({(reference * wh).sum() + (torch::tanh(reference) * wr).sum()}, in.all());
  const char* names[] = {"x0", "U", "V", "drive", "constant_drive", "inv_tau"};
  for (std::size_t i = 0; i < g_fused.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_fused[i], g_reference[i], 1e-10, 1e-12))
        << names[i] << ": max difference " << (g_fused[i] - g_reference[i]).abs().max().item<double>();
}

INSTANTIATE_TEST_SUITE_P(Solvers, PerTrialLowRankIntegrationTest, kSolverGrid, solver_grid_name);

TEST(PerTrialLowRankIntegration, SameNumbersForAnyThreadCount) {
  torch::manual_seed(24);
  const std::vector<int64_t> slots{0, -1, -1, -1, -1};
  const PerTrialInputs in = random_per_trial_inputs(37, 16, 2, 1);
  const FusedDynamics dynamics{FusedWeights::per_trial_low_rank(in.U, in.V), in.drive, in.constant_drive, slots,
                               in.inv_tau};
  expect_same_numbers_for_any_thread_count(Solver::Heun, dynamics, in.x0, in.all());
}

// The two forms agree where they meet: shared factors with c are the per-trial form with
// U(k) = A diag(c_k), V(k) = B.
TEST(PerTrialLowRankIntegration, SharedFactorsWithTrialFactorsAreTheSameDynamics) {
  torch::manual_seed(25);
  const std::vector<int64_t> slots{0, -1, -1, -1};
  const Inputs in = random_inputs(6, 8, 2, 1);
  const torch::Tensor U = in.A.unsqueeze(0) * in.c.unsqueeze(1), V = in.B.unsqueeze(0).expand({6, 8, 2});
  const Trajectory shared = integrate_fused(
      Solver::RK4, {FusedWeights::low_rank(in.A, in.B, in.c), in.drive, in.constant_drive, slots, in.inv_tau}, in.x0, 4,
      0.05, 1);
  const Trajectory per_trial = integrate_fused(
      Solver::RK4, {FusedWeights::per_trial_low_rank(U, V), in.drive, in.constant_drive, slots, in.inv_tau}, in.x0, 4,
      0.05, 1);
  EXPECT_TRUE(torch::allclose(shared.hidden, per_trial.hidden, 1e-13, 1e-13));
  const auto g_shared = torch::autograd::grad({shared.rates.sum()}, in.all());
  const auto g_per_trial = torch::autograd::grad({per_trial.rates.sum()}, in.all());
  for (std::size_t i = 0; i < g_shared.size(); ++i)
    EXPECT_TRUE(torch::allclose(g_shared[i], g_per_trial[i], 1e-11, 1e-12)) << i;
}

}  // namespace
}  // namespace ltrnn

// The time constant's gradient, dL/d(1/tau), against central differences of the fused
// integrator itself (no autograd), for a low-rank and a shared dense W.
namespace ltrnn {
namespace {

TEST(FusedIntegration, TimeConstantGradientMatchesFiniteDifferences) {
  torch::manual_seed(18);
  const std::vector<int64_t> slots{0, 1, -1, -1, -1};
  const Inputs in = random_inputs(4, 6, 2, 2, 8.0);
  const torch::Tensor W = torch::randn({6, 6}, torch::kFloat64) / 2;
  const torch::Tensor weight = torch::randn({5, 4, 6}, torch::kFloat64);
  for (const FusedWeights& weights : {FusedWeights::low_rank(in.A, in.B, in.c), FusedWeights::dense(W)}) {
    const auto loss = [&](const torch::Tensor& inv_tau) {
      const FusedDynamics dynamics{weights, in.drive, in.constant_drive, slots, inv_tau};
      return (integrate_fused(Solver::RK4, dynamics, in.x0, 5, 0.05, 2).rates * weight).sum();
    };
    const double analytic = torch::autograd::grad({loss(in.inv_tau)}, {in.inv_tau})[0].item<double>();
    torch::NoGradGuard no_grad;
    const double h = 1e-6, value = in.inv_tau.item<double>();
    const double numeric = (loss(torch::full({}, value + h, torch::kFloat64)).item<double>() -
                            loss(torch::full({}, value - h, torch::kFloat64)).item<double>()) /
                           (2 * h);
    EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-6 * std::abs(numeric)) << (weights.W.defined() ? "dense" : "low rank");
    EXPECT_GT(std::abs(numeric), 1e-3);  // the check is not vacuous
  }
}

}  // namespace
}  // namespace ltrnn
