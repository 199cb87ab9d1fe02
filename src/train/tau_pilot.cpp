// The tau pilot: short fits from several starting time constants.
#include "train/tau_pilot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "train/fit.h"
#include "train/termination.h"
#include "util/errors.h"

namespace ltrnn {

int64_t tau_pilot_cost(bool learn_tau, const TrainConfig& c) {
  const int64_t cost = c.tau_pilot_iterations * static_cast<int64_t>(kTauPilotFactors.size());
  return learn_tau && c.tau_pilot_iterations > 0 && 3 * cost <= c.iterations ? cost : 0;
}

bool runs_tau_pilot(bool learn_tau, const TrainConfig& c) { return tau_pilot_cost(learn_tau, c) > 0; }

std::string TauPilot::summary(int64_t iterations) const {
  std::ostringstream line;
  line << "tau starts at " << chosen << " s, chosen by " << iterations << "-iteration fits from [";
  for (std::size_t i = 0; i < starts.size(); ++i) line << (i ? ", " : "") << starts[i];
  line << "] s (lowest held-out loss)";
  return line.str();
}

// Why: short fits from the model's present parameters with tau starting at each multiple of the
// configured one; the model is left at those parameters with the best start. A fit whose tau
// starts far from the data's can settle where its weights compensate (a rank-2 fit of a
// network ten times slower, tau starting one bin long, stays at twice the noise floor while
// rank 3 reaches it), and that would decide the rank; the short fits tell the starts apart
// within tens of iterations.
TauPilot choose_starting_tau(RnnModel& model, const FitTarget& target, const TrainConfig& config, TrialGroup* group) {
  std::vector<torch::Tensor> initial;
  for (const auto& p : model->parameters()) initial.push_back(p.detach().clone());
  const auto reset = [&](double tau) {
    torch::NoGradGuard no_grad;
    const auto parameters = model->parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(initial[i]);
    model->log_tau.fill_(std::log(tau));
  };
  const auto began = std::chrono::steady_clock::now();
  TrainConfig short_fit = config;
  short_fit.iterations = config.tau_pilot_iterations;
  short_fit.polish_after = 0;  // the short fits compare where tau heads, not optima
  TauPilot pilot;
  for (double factor : kTauPilotFactors) {
    const double start = model->config().tau * factor;
    reset(start);
    PlateauTermination termination(short_fit.plateau_options());
    FitResult result;
    try {
      result = fit(model, target, short_fit, termination, FitHooks{}, nullptr, group);
    } catch (const Interrupted& interrupted) {
      // The short fits write no checkpoint: say so, rather than let the caller promise one.
      std::ostringstream what;
      what << "the tau pilot's short fit from " << start << " s: " << interrupted.what()
           << "; no checkpoint yet, this run starts over on resume";
      throw Interrupted(what.str(), interrupted.signal_number);
    }
    double lowest = std::numeric_limits<double>::infinity();
    if (!result.diverged())
      for (const auto& r : result.history) lowest = std::min(lowest, monitored_loss(r));
    pilot.starts.push_back(start);
    pilot.losses.push_back(lowest);
  }
  // The first of equal losses (the order of kTauPilotFactors breaks ties); the configured
  // tau when every short fit diverged.
  const auto best = std::min_element(pilot.losses.begin(), pilot.losses.end()) - pilot.losses.begin();
  pilot.chosen = std::isfinite(pilot.losses[static_cast<std::size_t>(best)])
                     ? pilot.starts[static_cast<std::size_t>(best)]
                     : model->config().tau;
  reset(pilot.chosen);
  pilot.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return pilot;
}

}  // namespace ltrnn
