// CP-ALS, unfoldings' singular values, assignment and factor similarity.
#include "analysis/cp.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <numeric>

namespace ltrnn {
namespace {

// X_(m) times the Khatri-Rao product of the other two factors, without forming it: one
// matrix product with a factor, then a weighted sum over the remaining mode.
torch::Tensor mttkrp(const torch::Tensor& X, const std::vector<torch::Tensor>& f, int m) {
  const int64_t I = X.size(0), J = X.size(1), K = X.size(2), R = f[0].size(1);
  if (m == 2) {
    const torch::Tensor XA = X.reshape({I, J * K}).t().mm(f[0]).view({J, K, R});  // sum_i x_ijk a_ir
    return (XA * f[1].unsqueeze(1)).sum(0);                                       // sum_j ... b_jr
  }
  const torch::Tensor XC = X.reshape({I * J, K}).mm(f[2]).view({I, J, R});  // sum_k x_ijk c_kr
  if (m == 0) return (XC * f[1].unsqueeze(0)).sum(1);                       // sum_j ... b_jr
  return (XC * f[0].unsqueeze(1)).sum(0);                                   // sum_i ... a_ir
}

struct Start {
  std::vector<torch::Tensor> factors;  // the last mode carries the weights
  double error = std::numeric_limits<double>::infinity();
  int64_t iterations = 0;
};

Start als_from(const torch::Tensor& X, std::vector<torch::Tensor> f, const CpOptions& options) {
  const double norm_x2 = X.pow(2).sum().item<double>();
  Start s;
  double previous = std::numeric_limits<double>::infinity();
  for (int64_t it = 1; it <= options.max_iterations; ++it) {
    torch::Tensor last_mttkrp;
    for (int m = 0; m < 3; ++m) {
      torch::Tensor gram = torch::ones({options.rank, options.rank}, X.options());
      for (int o = 0; o < 3; ++o)
        if (o != m) gram = gram * f[o].t().mm(f[o]);
      const torch::Tensor M = mttkrp(X, f, m);
      f[m] = M.mm(torch::linalg_pinv(gram, 1e-12, /*hermitian=*/true));
      if (m < 2) {  // keep the scale on the last mode
        const torch::Tensor norms = f[m].norm(2, 0).clamp_min(1e-300);
        f[m] = f[m] / norms;
      } else {
        last_mttkrp = M;
      }
    }
    // ||X - Xhat||^2 = ||X||^2 - 2 <X, Xhat> + ||Xhat||^2, both from quantities at hand.
    torch::Tensor gram_all = torch::ones({options.rank, options.rank}, X.options());
    for (int o = 0; o < 3; ++o) gram_all = gram_all * f[o].t().mm(f[o]);
    const double inner = (last_mttkrp * f[2]).sum().item<double>();
    const double residual2 = std::max(0.0, norm_x2 - 2 * inner + gram_all.sum().item<double>());
    s.error = std::sqrt(residual2 / std::max(norm_x2, 1e-300));
    s.iterations = it;
    if (std::abs(previous - s.error) < options.tolerance) break;
    previous = s.error;
  }
  s.factors = f;
  return s;
}

}  // namespace

torch::Tensor CpModel::full() const {
  return torch::einsum("r,ir,jr,kr->ijk", {weights, factors[0], factors[1], factors[2]});
}

CpModel cp_als(const torch::Tensor& input, const CpOptions& options) {
  TORCH_CHECK(input.dim() == 3, "cp_als: a 3-tensor is expected");
  TORCH_CHECK(options.rank >= 1 && options.starts >= 1, "cp_als: rank and starts must be >= 1");
  torch::NoGradGuard no_grad;
  const torch::Tensor X = input.to(torch::kFloat64).contiguous();
  auto generator = at::detail::createCPUGenerator(options.seed);
  Start best;
  for (int64_t start = 0; start < options.starts; ++start) {
    std::vector<torch::Tensor> f;
    for (int m = 0; m < 3; ++m) f.push_back(torch::randn({X.size(m), options.rank}, generator, X.options()));
    Start s = als_from(X, f, options);
    if (s.error < best.error) best = std::move(s);
  }
  // Unit-norm columns everywhere, weights sorted in descending order.
  CpModel model;
  torch::Tensor weights = torch::ones({options.rank}, X.options());
  for (auto& factor : best.factors) {
    const torch::Tensor norms = factor.norm(2, 0).clamp_min(1e-300);
    weights = weights * norms;
    model.factors.push_back(factor / norms);
  }
  const torch::Tensor order = torch::argsort(weights, 0, /*descending=*/true);
  model.weights = weights.index_select(0, order);
  for (auto& factor : model.factors) factor = factor.index_select(1, order);
  model.iterations = best.iterations;
  const double norm_x = X.norm().item<double>();
  model.relative_error = (X - model.full()).norm().item<double>() / std::max(norm_x, 1e-300);
  return model;
}

std::vector<torch::Tensor> unfolding_singular_values(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  const torch::Tensor X = input.to(torch::kFloat64);
  std::vector<torch::Tensor> out;
  for (int64_t m = 0; m < 3; ++m) {
    const torch::Tensor unfolding = X.movedim(m, 0).reshape({X.size(m), -1});
    out.push_back(torch::linalg_svdvals(unfolding));
  }
  return out;
}

int64_t rank_holding(const torch::Tensor& singular_values, double fraction) {
  const torch::Tensor energy = singular_values.to(torch::kFloat64).pow(2);
  const double total = energy.sum().item<double>();
  if (total <= 0) return 0;
  const torch::Tensor cumulative = energy.cumsum(0) / total;
  for (int64_t i = 0; i < cumulative.size(0); ++i)
    if (cumulative[i].item<double>() >= fraction - 1e-12) return i + 1;
  return cumulative.size(0);
}

std::vector<std::pair<int64_t, int64_t>> best_assignment(const torch::Tensor& cost_in) {
  // Shortest augmenting paths with row and column potentials (Kuhn-Munkres), O(n^2 m),
  // on the orientation with rows <= columns.
  const bool transpose = cost_in.size(0) > cost_in.size(1);
  const torch::Tensor cost = (transpose ? cost_in.t() : cost_in).to(torch::kFloat64).contiguous();
  const int64_t n = cost.size(0), m = cost.size(1);
  const auto c = cost.accessor<double, 2>();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0);
  std::vector<int64_t> match(m + 1, 0), way(m + 1, 0);  // match[j]: row (1-based) assigned to column j
  for (int64_t i = 1; i <= n; ++i) {
    match[0] = i;
    int64_t j0 = 0;
    std::vector<double> min_to(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      const int64_t i0 = match[j0];
      double delta = inf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double reduced = c[i0 - 1][j - 1] - u[i0] - v[j];
        if (reduced < min_to[j]) min_to[j] = reduced, way[j] = j0;
        if (min_to[j] < delta) delta = min_to[j], j1 = j;
      }
      for (int64_t j = 0; j <= m; ++j) {
        if (used[j])
          u[match[j]] += delta, v[j] -= delta;
        else
          min_to[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] != 0);
    do {
      const int64_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t j = 1; j <= m; ++j)
    if (match[j] != 0) {
      const int64_t row = match[j] - 1, column = j - 1;
      pairs.emplace_back(transpose ? column : row, transpose ? row : column);
    }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

double kruskal_similarity(const std::vector<torch::Tensor>& U, const std::vector<torch::Tensor>& V,
                          std::vector<std::pair<int64_t, int64_t>>* matching) {
  TORCH_CHECK(!U.empty() && U.size() == V.size(), "kruskal_similarity: the same number of modes is expected");
  torch::NoGradGuard no_grad;
  torch::Tensor similarity;
  for (std::size_t m = 0; m < U.size(); ++m) {
    const torch::Tensor u = U[m].to(torch::kFloat64), v = V[m].to(torch::kFloat64);
    const torch::Tensor cosines = (u / u.norm(2, 0).clamp_min(1e-300)).t().mm(v / v.norm(2, 0).clamp_min(1e-300)).abs();
    similarity = m == 0 ? cosines : similarity * cosines;
  }
  const auto pairs = best_assignment(1 - similarity);
  double total = 0;
  for (const auto& [i, j] : pairs) total += similarity[i][j].item<double>();
  if (matching) *matching = pairs;
  return pairs.empty() ? 0.0 : total / static_cast<double>(pairs.size());
}

CpAnalysis analyze_cp(const torch::Tensor& X, const std::vector<int64_t>& ranks, const CpOptions& options) {
  CpAnalysis a;
  a.shape = X.sizes().vec();
  for (int64_t rank : ranks) {
    CpOptions o = options;
    o.rank = rank;
    a.models.push_back(cp_als(X, o));
  }
  a.singular_values = unfolding_singular_values(X);
  return a;
}

torch::Tensor learning_updates(const torch::Tensor& W) { return W - W.select(0, 0).unsqueeze(0); }

}  // namespace ltrnn
