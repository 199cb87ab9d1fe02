// Reduce-on-plateau and the convergence rule.
#include "train/schedule.h"

#include <cmath>

#include "train/termination.h"

namespace ltrnn {

LearningRateSchedule::Action LearningRateSchedule::observe(double loss) {
  if (options_.patience <= 0 || converged_) return Action::Continue;
  if (!has_reference_ || loss < reference_ * (1 - options_.min_improvement)) {
    reference_ = loss;
    has_reference_ = true;
    since_improvement_ = 0;
    return Action::Continue;
  }
  if (++since_improvement_ < options_.patience) return Action::Continue;
  since_improvement_ = 0;
  if (reductions_ >= options_.reductions) {
    converged_ = true;
    return Action::Converged;
  }
  ++reductions_;
  return Action::Reduce;
}

LearningRateSchedule::Action LearningRateSchedule::replay(const std::vector<IterationRecord>& history) {
  Action last = Action::Continue;
  for (const IterationRecord& record : history) last = observe(monitored_loss(record));
  return last;
}

double LearningRateSchedule::scale() const { return std::pow(options_.factor, static_cast<double>(reductions_)); }

}  // namespace ltrnn
