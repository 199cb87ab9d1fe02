// The tau pilot (docs/design.md section 4): the time constant's start chosen by short fits
// from each multiple of the configured tau, compared on their held-out loss.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/ltrnn_model.h"
#include "train/config.h"
#include "train/distributed.h"
#include "train/loss.h"

namespace ltrnn {

// The starting time constants the tau pilot tries, as multiples of the configured tau:
// from a third of it to ten times it.
inline const std::vector<double> kTauPilotFactors = {0.3, 1.0, 3.0, 10.0};

// Whether a fit runs the tau pilot: tau is learnt, the pilot is on (train.tau_pilot_iterations
// > 0), and its fits take at most a third of the iteration cap (short test fits and small
// budgets keep the configured start).
bool runs_tau_pilot(bool learn_tau, const TrainConfig& c);
// The iterations the tau pilot adds to a fit (0 when it does not run).
int64_t tau_pilot_cost(bool learn_tau, const TrainConfig& c);

struct TauPilot {
  std::vector<double> starts;  // seconds
  std::vector<double> losses;  // each short fit's lowest monitored loss (infinite when it diverged)
  double chosen = 0;
  double seconds = 0;  // wall time of the short fits
  // "tau starts at 0.3 s, chosen by 50-iteration fits from [0.03, 0.1, 0.3, 1] s (lowest
  // held-out loss)": numbers as people write them.
  std::string summary(int64_t iterations) const;
};

// Short fits of train.tau_pilot_iterations from the model's present parameters with tau
// starting at each of kTauPilotFactors times the configured one; the model is left at those
// parameters with the start of the lowest held-out loss (the first of equal ones; the
// configured tau when every short fit diverged). With `group`, every process of a distributed
// fit takes part. An interrupt is rethrown saying that no checkpoint exists yet.
TauPilot choose_starting_tau(RnnModel& model, const FitTarget& target, const TrainConfig& config, TrialGroup* group);

}  // namespace ltrnn
