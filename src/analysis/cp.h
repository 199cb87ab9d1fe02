// CP (canonical polyadic) decomposition of a 3-tensor by alternating least squares, the
// matrix rank of its unfoldings, and the factor similarity score of tensortools'
// kruskal_align (Williams et al. 2018): the tools for asking whether a tensor of weights
// over learning, W(k) or its updates W(k) - W(first), has low tensor rank.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ltrnn {

// X ~ sum_r weights[r] factors[0][:, r] o factors[1][:, r] o factors[2][:, r], unit-norm
// factor columns, components sorted by weight (largest first), all in float64.
struct CpModel {
  torch::Tensor weights;               // [R]
  std::vector<torch::Tensor> factors;  // 3 x [I_m, R]
  double relative_error = 0;           // ||X - full()|| / ||X||
  int64_t iterations = 0;              // ALS sweeps of the best start
  int64_t rank() const { return weights.size(0); }
  torch::Tensor full() const;
};

struct CpOptions {
  int64_t rank = 1;
  int64_t starts = 5;            // random initialisations; the one with the lowest error is kept
  int64_t max_iterations = 500;  // ALS sweeps per start
  double tolerance = 1e-8;       // stop when the relative error changes by less than this
  uint64_t seed = 0;
};

// Best of options.starts ALS runs. Each sweep solves, mode by mode, the least-squares
// problem A_m = X_(m) (Khatri-Rao of the other factors) (Hadamard of their Gram matrices)^+
// (Kolda & Bader 2009, section 3.4).
CpModel cp_als(const torch::Tensor& X, const CpOptions& options);

// Singular values of the mode-m unfolding X_(m) [I_m, prod of the others], m = 0, 1, 2.
std::vector<torch::Tensor> unfolding_singular_values(const torch::Tensor& X);
// The smallest number of singular values holding `fraction` of the sum of their squares.
int64_t rank_holding(const torch::Tensor& singular_values, double fraction);

// Minimum-cost assignment of rows to columns (Hungarian algorithm, rectangular allowed):
// the (row, column) pairs, min(rows, columns) of them.
std::vector<std::pair<int64_t, int64_t>> best_assignment(const torch::Tensor& cost);

// tensortools' kruskal_align score of two sets of factors (same number of modes, any
// ranks): columns scaled to unit norm, similarity of components i, j = product over
// modes of |cos(angle)|, components matched one-to-one to maximise the total, score =
// mean similarity of the matched pairs, in [0, 1]. Sign and scale do not matter.
double kruskal_similarity(const std::vector<torch::Tensor>& U, const std::vector<torch::Tensor>& V,
                          std::vector<std::pair<int64_t, int64_t>>* matching = nullptr);

// `ltrnn analyze cp`: CP models at several ranks and the unfoldings' singular values.
struct CpAnalysis {
  std::vector<int64_t> shape;
  std::vector<CpModel> models;                 // one per requested rank, in order
  std::vector<torch::Tensor> singular_values;  // per mode
};
CpAnalysis analyze_cp(const torch::Tensor& X, const std::vector<int64_t>& ranks, const CpOptions& options);
// The learning updates dW(k) = W(k) - W(first) of a tensor whose first axis is the trial.
torch::Tensor learning_updates(const torch::Tensor& W);
}  // namespace ltrnn
