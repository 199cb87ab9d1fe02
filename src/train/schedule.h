// The learning-rate schedule and the convergence rule (docs/design.md section 4): the
// step size is halved whenever the monitored loss has gone `patience` iterations without
// a relative improvement of `min_improvement` on its best value, and the fit has
// converged when that happens once more after `reductions` halvings. Every fit, at every
// rank, stops by this same relative criterion at its own plateau, so ranks are compared
// at convergence rather than wherever an absolute threshold or the cap caught them.
#pragma once
#include <cstdint>
#include <vector>

namespace ltrnn {

struct IterationRecord;

struct ScheduleOptions {
  int64_t patience = 80;          // iterations without a relative improvement (0: schedule off)
  double factor = 0.5;            // learning-rate multiplier at each reduction
  int64_t reductions = 2;         // reductions before the next plateau means converged
  double min_improvement = 1e-3;  // relative: loss < best (1 - min_improvement) counts
};

class LearningRateSchedule {
 public:
  enum class Action { Continue, Reduce, Converged };

  explicit LearningRateSchedule(const ScheduleOptions& options) : options_(options) {}
  // Feeds one iteration's monitored loss; Reduce and Converged are returned once each.
  Action observe(double monitored_loss);
  // Feeds a saved history (a resumed fit): the state of a fit that saw it live; returns the
  // last record's action.
  Action replay(const std::vector<IterationRecord>& history);
  // The learning rate's multiplier now: factor^reductions.
  double scale() const;
  int64_t reductions() const { return reductions_; }

 private:
  ScheduleOptions options_;
  double reference_ = 0;  // the best loss that counted as an improvement
  bool has_reference_ = false;
  int64_t since_improvement_ = 0;
  int64_t reductions_ = 0;
  bool converged_ = false;
};

}  // namespace ltrnn
