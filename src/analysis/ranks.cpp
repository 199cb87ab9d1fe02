// Matrix ranks and principal angles of weights over learning (analysis/ranks.h).
#include "analysis/ranks.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/cp.h"

namespace ltrnn {
namespace {

constexpr double kDegreesPerRadian = 180.0 / M_PI;

int64_t rank_at(const torch::Tensor& singular_values, double tolerance) {
  if (singular_values.numel() == 0) return 0;
  const double largest = singular_values[0].item<double>();
  if (largest <= 0) return 0;
  return (singular_values > tolerance * largest).sum().item<int64_t>();
}

// The named measure of every trial.
struct Measure {
  const char* key;
  const char* label;
  double (*of)(const SubspaceFit&);
};

const std::vector<Measure>& measures() {
  static const std::vector<Measure> m{
      {"rank", "rank", [](const SubspaceFit& f) { return static_cast<double>(f.rank); }},
      {"rank_99", "rank 99%", [](const SubspaceFit& f) { return static_cast<double>(f.rank_99); }},
      {"singular_value_after_span", "s_(d+1)/s_1", [](const SubspaceFit& f) { return f.singular_value_after_span; }},
      {"column_angle", "col angle", [](const SubspaceFit& f) { return f.column_angle; }},
      {"row_angle", "row angle", [](const SubspaceFit& f) { return f.row_angle; }},
      {"dominant_column_angle", "col angle 99", [](const SubspaceFit& f) { return f.dominant_column_angle; }},
      {"dominant_row_angle", "row angle 99", [](const SubspaceFit& f) { return f.dominant_row_angle; }},
      {"column_outside", "col outside", [](const SubspaceFit& f) { return f.column_outside; }},
      {"row_outside", "row outside", [](const SubspaceFit& f) { return f.row_outside; }},
  };
  return m;
}

double maximum(const std::vector<SubspaceFit>& fits, const Measure& m) {
  double best = 0;
  for (const SubspaceFit& f : fits) best = std::max(best, m.of(f));
  return best;
}

double relative_norm(const torch::Tensor& part, const torch::Tensor& whole) {
  const double norm = whole.norm().item<double>();
  return norm > 0 ? part.norm().item<double>() / norm : 0.0;
}

}  // namespace

torch::Tensor orthonormal_basis(const torch::Tensor& A, double tolerance) {
  const auto [U, S, Vh] = torch::linalg_svd(A.to(torch::kFloat64), /*full_matrices=*/false);
  return U.narrow(1, 0, rank_at(S, tolerance));
}

double largest_principal_angle(const torch::Tensor& P, const torch::Tensor& Q) {
  if (P.size(1) == 0) return 0.0;
  if (P.size(1) > Q.size(1)) return 90.0;
  // cos = the smallest singular value of Q^T P, sin = the largest of (I - Q Q^T) P; atan2
  // of both keeps small angles accurate (acos alone loses half the digits near 0).
  const double cosine = torch::linalg_svdvals(Q.t().mm(P)).min().item<double>();
  const double sine = torch::linalg_svdvals(P - Q.mm(Q.t().mm(P))).max().item<double>();
  return std::atan2(sine, cosine) * kDegreesPerRadian;
}

SubspaceFit fit_to_subspace(const torch::Tensor& M_in, const torch::Tensor& Q, double tolerance) {
  const torch::Tensor M = M_in.to(torch::kFloat64);
  const auto [U, S, Vh] = torch::linalg_svd(M, /*full_matrices=*/false);
  SubspaceFit f;
  f.rank = rank_at(S, tolerance);
  if (f.rank == 0) return f;
  f.rank_99 = rank_holding(S, 0.99);
  f.column_angle = largest_principal_angle(U.narrow(1, 0, f.rank), Q);
  f.row_angle = largest_principal_angle(Vh.narrow(0, 0, f.rank).t(), Q);
  const int64_t dominant = std::min(f.rank_99, Q.size(1));
  f.dominant_column_angle = largest_principal_angle(U.narrow(1, 0, dominant), Q);
  f.dominant_row_angle = largest_principal_angle(Vh.narrow(0, 0, dominant).t(), Q);
  const torch::Tensor projector = Q.mm(Q.t());
  f.column_outside = relative_norm(M - projector.mm(M), M);
  f.row_outside = relative_norm(M - M.mm(projector), M);
  const int64_t s = Q.size(1);
  f.singular_value_after_span = s < S.size(0) ? S[s].item<double>() / S[0].item<double>() : 0.0;
  return f;
}

RankAnalysis analyze_ranks(const torch::Tensor& weights, const torch::Tensor& input_weights,
                           const torch::Tensor& readout_weights, double tolerance) {
  torch::NoGradGuard no_grad;
  TORCH_CHECK(weights.dim() == 3 && weights.size(1) == weights.size(2), "analyze_ranks: weights must be [K, N, N]");
  TORCH_CHECK(weights.size(0) >= 1, "analyze_ranks: at least one trial is needed");
  torch::Tensor span = torch::cat({input_weights.to(torch::kFloat64), readout_weights.to(torch::kFloat64).t()}, 1);
  span = span / span.norm(2, 0, /*keepdim=*/true).clamp_min(1e-300);
  const torch::Tensor Q = orthonormal_basis(span, tolerance);
  RankAnalysis a;
  a.span_dimension = Q.size(1);
  a.tolerance = tolerance;
  const torch::Tensor W = weights.to(torch::kFloat64);
  const torch::Tensor dW = learning_updates(W);
  for (int64_t k = 0; k < W.size(0); ++k) {
    a.weights.push_back(fit_to_subspace(W[k], Q, tolerance));
    a.updates.push_back(fit_to_subspace(dW[k], Q, tolerance));
  }
  return a;
}

nlohmann::json rank_analysis_json(const RankAnalysis& a) {
  nlohmann::json j = {{"span_dimension", a.span_dimension}, {"tolerance", a.tolerance}};
  for (const auto& [name, fits] : {std::pair{"weights", &a.weights}, std::pair{"updates", &a.updates}}) {
    nlohmann::json per_trial, maxima;
    for (const Measure& m : measures()) {
      const bool count = std::string(m.key).rfind("rank", 0) == 0;  // ranks are integers in the file
      const auto as_json = [count](double v) {
        return count ? nlohmann::json(static_cast<int64_t>(v)) : nlohmann::json(v);
      };
      nlohmann::json values = nlohmann::json::array();
      for (const SubspaceFit& f : *fits) values.push_back(as_json(m.of(f)));
      per_trial[m.key] = values;
      maxima[m.key] = as_json(maximum(*fits, m));
    }
    j[name] = {{"per_trial", per_trial}, {"max", maxima}};
  }
  return j;
}

std::string format_rank_table(const RankAnalysis& a) {
  std::ostringstream out;
  char line[256];
  out << "span(B, C^T): dimension " << a.span_dimension << "; ranks at relative tolerance " << a.tolerance
      << "; angles in degrees; the maximum over trials:\n";
  std::snprintf(line, sizeof line, "%-8s", "");
  out << line;
  for (const Measure& m : measures()) {
    std::snprintf(line, sizeof line, "  %12s", m.label);
    out << line;
  }
  out << "\n";
  for (const auto& [name, fits] : {std::pair{"W(k)", &a.weights}, std::pair{"dW(k)", &a.updates}}) {
    std::snprintf(line, sizeof line, "%-8s", name);
    out << line;
    for (const Measure& m : measures()) {
      std::snprintf(line, sizeof line, "  %12.4g", maximum(*fits, m));
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ltrnn
