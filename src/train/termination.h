// When a fit stops (docs/design.md section 4): a policy asked after every iteration.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/config.h"
#include "util/fields.h"

namespace ltrnn {

// One iteration of a fit, as logged (log.csv) and checkpointed.
struct IterationRecord {
  int64_t iteration = 0;         // 1-based
  double train_loss = 0;         // data term on all training entries (normalised MSE, or Poisson NLL)
  double test_loss = 0;          // data term on the test entries (normalised by the test variance)
  double seconds = 0;            // wall time since the start of the fit
  double validation_loss = NAN;  // data term on the validation entries (NaN: no validation set)
  bool polish = false;           // an iteration of the L-BFGS polish (train/fit.h), not of Adam
};

// The held-out loss that stopping and the saved model watch: the validation loss, or the
// test loss when there is no validation set (docs/design.md section 4).
inline double monitored_loss(const IterationRecord& r) {
  return std::isnan(r.validation_loss) ? r.test_loss : r.validation_loss;
}

// Why a fit stopped: the schedule's persisting plateau, the plateau rule, patience, the
// iteration cap, or a non-finite loss.
enum class StopReason { Converged, Plateau, Patience, Iterations, Diverged };
template <>
const std::vector<std::pair<StopReason, std::string>>& EnumNames<StopReason>::table();

// Decides after each iteration whether to stop; returns the reason, or nothing to go on.
class Termination {
 public:
  virtual ~Termination() = default;
  virtual std::optional<StopReason> should_stop(const std::vector<IterationRecord>& history) = 0;
};

// The reference rule: stop when std(monitored loss over the last `window` iterations) <
// threshold; optionally after `patience` iterations without a new best; and at the cap.
class PlateauTermination : public Termination {
 public:
  explicit PlateauTermination(const PlateauOptions& options) : options_(options) {}
  std::optional<StopReason> should_stop(const std::vector<IterationRecord>& history) override;

 private:
  PlateauOptions options_;
};

}  // namespace ltrnn
