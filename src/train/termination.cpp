// The plateau rule, patience and the iteration cap.
#include "train/termination.h"

#include <algorithm>
#include <cmath>

namespace ltrnn {

template <>
const std::vector<std::pair<StopReason, std::string>>& EnumNames<StopReason>::table() {
  static const std::vector<std::pair<StopReason, std::string>> t{{StopReason::Converged, "converged"},
                                                                 {StopReason::Plateau, "plateau"},
                                                                 {StopReason::Patience, "patience"},
                                                                 {StopReason::Iterations, "iterations"},
                                                                 {StopReason::Diverged, "diverged"}};
  return t;
}

std::optional<StopReason> PlateauTermination::should_stop(const std::vector<IterationRecord>& history) {
  const auto n = static_cast<int64_t>(history.size());
  const int64_t S = options_.window;
  if (S >= 2 && n >= S) {
    double mean = 0, sq = 0;
    for (int64_t i = n - S; i < n; ++i) mean += monitored_loss(history[i]);
    mean /= S;
    for (int64_t i = n - S; i < n; ++i) sq += std::pow(monitored_loss(history[i]) - mean, 2);
    if (std::sqrt(sq / S) < options_.threshold) return StopReason::Plateau;
  }
  if (options_.patience > 0 && n > options_.patience) {
    const auto best = std::min_element(history.begin(), history.end(), [](const auto& a, const auto& b) {
      return monitored_loss(a) < monitored_loss(b);
    });
    if (n - 1 - (best - history.begin()) >= options_.patience) return StopReason::Patience;
  }
  if (n >= options_.iterations) return StopReason::Iterations;
  return std::nullopt;
}

}  // namespace ltrnn
