// CP-ALS, the assignment solver and the factor similarity score.
#include "analysis/cp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

namespace ltrnn {
namespace {

std::vector<torch::Tensor> random_factors(std::vector<int64_t> sizes, int64_t rank) {
  std::vector<torch::Tensor> f;
  for (int64_t s : sizes) f.push_back(torch::randn({s, rank}, torch::kFloat64));
  return f;
}

torch::Tensor full(const std::vector<torch::Tensor>& f) { return torch::einsum("ir,jr,kr->ijk", {f[0], f[1], f[2]}); }

TEST(CpAls, RecoversAnExactRank3TensorAndItsFactors) {
  torch::manual_seed(1);
  const auto truth = random_factors({12, 10, 8}, 3);
  const torch::Tensor X = full(truth);
  CpOptions options;
  options.rank = 3;
  options.starts = 3;
  options.max_iterations = 2000;
  options.tolerance = 1e-14;
  const CpModel model = cp_als(X, options);
  EXPECT_LT(model.relative_error, 1e-6);
  EXPECT_LT((model.full() - X).norm().item<double>() / X.norm().item<double>(), 1e-6);
  EXPECT_GT(kruskal_similarity(truth, model.factors), 0.99);
  // Weights sorted, columns of unit norm.
  EXPECT_GE(model.weights[0].item<double>(), model.weights[1].item<double>());
  EXPECT_TRUE(torch::allclose(model.factors[1].norm(2, 0), torch::ones({3}, torch::kFloat64)));
}

TEST(CpAls, ErrorDoesNotIncreaseWithRankOnANoisyTensor) {
  torch::manual_seed(2);
  const torch::Tensor X = full(random_factors({15, 12, 10}, 3)) + 0.3 * torch::randn({15, 12, 10}, torch::kFloat64);
  double previous = 1.0;
  for (int64_t r = 1; r <= 6; ++r) {
    CpOptions options;
    options.rank = r;
    options.starts = 4;
    const double error = cp_als(X, options).relative_error;
    EXPECT_LE(error, previous + 1e-6) << "rank " << r;
    previous = error;
  }
  EXPECT_LT(previous, 0.3);
}

TEST(CpAls, SameSeedSameModel) {
  torch::manual_seed(3);
  const torch::Tensor X = torch::randn({6, 5, 4}, torch::kFloat64);
  CpOptions options;
  options.rank = 2;
  options.seed = 7;
  EXPECT_TRUE(torch::equal(cp_als(X, options).factors[0], cp_als(X, options).factors[0]));
}

TEST(Unfoldings, MatrixRankOfARank2TensorIs2InEveryMode) {
  torch::manual_seed(4);
  const auto sv = unfolding_singular_values(full(random_factors({7, 6, 5}, 2)));
  ASSERT_EQ(sv.size(), 3u);
  for (const auto& s : sv) EXPECT_EQ(rank_holding(s, 1 - 1e-12), 2);
  EXPECT_EQ(sv[0].size(0), 7);
}

double brute_force_cost(const torch::Tensor& cost) {
  // Every injective map from the smaller side to the larger.
  const bool transpose = cost.size(0) > cost.size(1);
  const torch::Tensor c = transpose ? cost.t() : cost;
  std::vector<int64_t> columns(c.size(1));
  std::iota(columns.begin(), columns.end(), 0);
  double best = 1e300;
  do {
    double total = 0;
    for (int64_t i = 0; i < c.size(0); ++i) total += c[i][columns[i]].item<double>();
    best = std::min(best, total);
  } while (std::next_permutation(columns.begin(), columns.end()));
  return best;
}

TEST(Assignment, MatchesBruteForce) {
  torch::manual_seed(5);
  for (auto shape : std::vector<std::pair<int64_t, int64_t>>{{5, 5}, {3, 6}, {6, 3}, {1, 4}}) {
    const torch::Tensor cost = torch::rand({shape.first, shape.second}, torch::kFloat64);
    const auto pairs = best_assignment(cost);
    ASSERT_EQ(static_cast<int64_t>(pairs.size()), std::min(shape.first, shape.second));
    double total = 0;
    for (const auto& [i, j] : pairs) total += cost[i][j].item<double>();
    EXPECT_NEAR(total, brute_force_cost(cost), 1e-12);
  }
}

TEST(KruskalSimilarity, IgnoresOrderSignAndScale) {
  torch::manual_seed(6);
  const auto U = random_factors({9, 8, 7}, 3);
  std::vector<torch::Tensor> V;
  const torch::Tensor order = torch::tensor({2, 0, 1});
  for (std::size_t m = 0; m < U.size(); ++m) {
    const double sign = m == 1 ? -1.0 : 1.0;
    V.push_back(sign * 3.0 * U[m].index_select(1, order));
  }
  std::vector<std::pair<int64_t, int64_t>> matching;
  EXPECT_NEAR(kruskal_similarity(U, V, &matching), 1.0, 1e-12);
  EXPECT_EQ(matching[0], (std::pair<int64_t, int64_t>{0, 1}));  // U's component 0 is V's 1
  // Unrelated factors score well below 1; one mode alone is a valid comparison too.
  EXPECT_LT(kruskal_similarity(U, random_factors({9, 8, 7}, 3)), 0.5);
  EXPECT_NEAR(kruskal_similarity({U[0]}, {V[0]}), 1.0, 1e-12);
}

}  // namespace
}  // namespace ltrnn
