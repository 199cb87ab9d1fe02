// Principal angles, numerical ranks and the part of a matrix outside a subspace, each
// against a case whose answer is known in closed form.
#include "analysis/ranks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace ltrnn {
namespace {

torch::Tensor unit(int64_t n, int64_t i) {
  torch::Tensor e = torch::zeros({n, 1}, torch::kFloat64);
  e[i][0] = 1.0;
  return e;
}

TEST(PrincipalAngles, EqualTheRotationBetweenTwoLines) {
  for (double degrees : {0.0, 1e-7, 0.5, 30.0, 89.0}) {
    const double theta = degrees * M_PI / 180.0;
    const torch::Tensor P = unit(4, 0);
    const torch::Tensor Q = std::cos(theta) * unit(4, 0) + std::sin(theta) * unit(4, 1);
    EXPECT_NEAR(largest_principal_angle(P, Q), degrees, 1e-9 + 1e-9 * degrees) << degrees;
  }
  // A plane and a line inside it: 0; more directions than the subspace: 90.
  const torch::Tensor plane = torch::cat({unit(4, 0), unit(4, 1)}, 1);
  EXPECT_NEAR(largest_principal_angle((unit(4, 0) + unit(4, 1)) / std::sqrt(2.0), plane), 0.0, 1e-12);
  EXPECT_EQ(largest_principal_angle(plane, unit(4, 0)), 90.0);
}

TEST(SubspaceFit, RankAndOutsidePartOfAMatrixBuiltFromKnownDirections) {
  torch::manual_seed(3);
  const int64_t N = 30;
  const torch::Tensor Q = orthonormal_basis(torch::randn({N, 4}, torch::kFloat64), 1e-10);
  ASSERT_EQ(Q.size(1), 4);
  // Inside span(Q) on both sides, rank 3.
  const torch::Tensor inside =
      Q.mm(torch::randn({4, 3}, torch::kFloat64)).mm(torch::randn({3, 4}, torch::kFloat64)).mm(Q.t());
  const SubspaceFit in = fit_to_subspace(inside, Q, 1e-8);
  EXPECT_EQ(in.rank, 3);
  EXPECT_LT(in.column_outside, 1e-12);
  EXPECT_LT(in.row_outside, 1e-12);
  EXPECT_LT(in.column_angle, 1e-8);
  EXPECT_LT(in.singular_value_after_span, 1e-14);
  // Add a rank-one term whose column is orthogonal to span(Q): its share of the squared
  // norm is the squared column-outside fraction; the rows stay inside.
  torch::Tensor v = torch::randn({N, 1}, torch::kFloat64);
  v = v - Q.mm(Q.t().mm(v));
  v = v / v.norm();
  const torch::Tensor row = Q.mm(torch::randn({4, 1}, torch::kFloat64)).t();
  const torch::Tensor outside_term = v.mm(row);
  const torch::Tensor M = inside + outside_term;
  const SubspaceFit out = fit_to_subspace(M, Q, 1e-8);
  EXPECT_EQ(out.rank, 4);
  EXPECT_NEAR(out.column_outside, outside_term.norm().item<double>() / M.norm().item<double>(), 1e-12);
  EXPECT_LT(out.row_outside, 1e-12);
  EXPECT_GT(out.column_angle, 1.0);
  // A zero matrix: rank 0, nothing outside.
  const SubspaceFit zero = fit_to_subspace(torch::zeros({N, N}, torch::kFloat64), Q, 1e-8);
  EXPECT_EQ(zero.rank, 0);
  EXPECT_EQ(zero.column_outside, 0.0);
}

TEST(AnalyzeRanks, UpdatesAreMeasuredFromTheFirstTrial) {
  torch::manual_seed(4);
  const int64_t N = 12, K = 4;
  const torch::Tensor B = torch::randn({N, 2}, torch::kFloat64), C = torch::randn({1, N}, torch::kFloat64);
  // W(k) = W0 + k u v^T with u, v in span(B, C^T) and a full-rank W0: W(k) is full rank,
  // dW(k) has rank 1 inside the span.
  const torch::Tensor W0 = torch::randn({N, N}, torch::kFloat64);
  const torch::Tensor u = B.select(1, 0).unsqueeze(1), v = C.t();
  torch::Tensor W = torch::empty({K, N, N}, torch::kFloat64);
  for (int64_t k = 0; k < K; ++k) W[k] = W0 + static_cast<double>(k) * u.mm(v.t());
  const RankAnalysis a = analyze_ranks(W, B, C, 1e-8);
  EXPECT_EQ(a.span_dimension, 3);
  ASSERT_EQ(a.weights.size(), static_cast<std::size_t>(K));
  EXPECT_EQ(a.weights[2].rank, N);
  EXPECT_EQ(a.updates[0].rank, 0);
  for (int64_t k = 1; k < K; ++k) {
    EXPECT_EQ(a.updates[k].rank, 1);
    EXPECT_LT(a.updates[k].column_outside, 1e-12);
    EXPECT_LT(a.updates[k].row_outside, 1e-12);
  }
}

}  // namespace
}  // namespace ltrnn
