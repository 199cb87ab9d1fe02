// The matrix rank of a network's recurrent weights over learning, and how far their column
// and row spaces lie from span(B, C^T), the space the inputs write into and the readout
// reads from. For a linear RNN trained by gradient descent from W = 0 every W(k) and every
// update dW(k) has its column and row spaces inside that span, so its matrix rank is at
// most d_in + d_out (docs/design.md section 10); these numbers check the bound directly.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace ltrnn {

// One matrix measured against an orthonormal basis Q [N, s] of a subspace.
struct SubspaceFit {
  int64_t rank = 0;         // singular values above tolerance x the largest
  int64_t rank_99 = 0;      // singular values holding 99% of the squared norm
  double column_angle = 0;  // largest principal angle (degrees) between the column space (at `rank`) and span(Q)
  double row_angle = 0;     // the same for the row space
  // The same for the leading min(rank_99, dim Q) singular directions: where the bulk of M
  // lies (the angles above are 90 whenever `rank` exceeds dim Q, as for any tanh network).
  double dominant_column_angle = 0;
  double dominant_row_angle = 0;
  double column_outside = 0;             // ||(I - Q Q^T) M||_F / ||M||_F: the part of M's columns outside span(Q)
  double row_outside = 0;                // ||M (I - Q Q^T)||_F / ||M||_F
  double singular_value_after_span = 0;  // sigma_{s+1} / sigma_1 (0 when N <= s): how far above the bound
};

// Orthonormal basis of the column space of A [N, m] at relative tolerance: [N, rank].
torch::Tensor orthonormal_basis(const torch::Tensor& A, double tolerance);

// Largest principal angle, in degrees, between span(P) and span(Q), both orthonormal bases
// (Bjorck & Golub 1973: cosines = singular values of P^T Q). 90 when P has more columns
// than Q (some direction of span(P) is orthogonal to span(Q)); 0 for an empty P.
double largest_principal_angle(const torch::Tensor& P, const torch::Tensor& Q);

// M [N, N] against span(Q). A zero matrix gives rank 0 and zero angles and fractions.
SubspaceFit fit_to_subspace(const torch::Tensor& M, const torch::Tensor& Q, double tolerance);

struct RankAnalysis {
  int64_t span_dimension = 0;  // dim span(B, C^T) at the tolerance
  double tolerance = 0;
  std::vector<SubspaceFit> weights;  // W(k), one per trial
  std::vector<SubspaceFit> updates;  // dW(k) = W(k) - W(first); trial 0 is zero
};

// weights [K, N, N] (K >= 1); input_weights B [N, d_in]; readout_weights C [d_out, N]. The
// columns of B and C^T are scaled to unit norm before the span's basis is taken, so a
// small readout does not fall below the tolerance.
RankAnalysis analyze_ranks(const torch::Tensor& weights, const torch::Tensor& input_weights,
                           const torch::Tensor& readout_weights, double tolerance);

// Per-trial arrays and their maxima as JSON; the table `ltrnn analyze ranks` prints.
nlohmann::json rank_analysis_json(const RankAnalysis& analysis);
std::string format_rank_table(const RankAnalysis& analysis);

}  // namespace ltrnn
