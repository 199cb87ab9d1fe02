// The plan of an experiment (family x rank x hidden size x seed) and its resolved form,
// the one writer of experiment.json.
#include "experiment/plan.h"

#include <algorithm>
#include <iomanip>
#include <set>
#include <sstream>

#include "model/butcher_tableau.h"
#include "model/family.h"
#include "run/execute.h"
#include "train/tau_pilot.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"
#include "util/machine.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<PlannedRun> plan_runs(const Experiment& e) {
  std::vector<PlannedRun> plan;
  std::set<std::string> ids;
  for (std::size_t g = 0; g < e.runs.size(); ++g) {
    const RunGroup& group = e.runs[g];
    const std::vector<int64_t> ranks = group.ranks.empty() ? std::vector<int64_t>{0} : group.ranks;
    for (int64_t rank : ranks)
      for (int64_t hidden : group.hidden)
        for (int64_t seed : e.seeds) {
          PlannedRun run;
          run.model = model_preset(group.kind);
          overlay_fields(run.model, group.overrides, "/runs/" + std::to_string(g) + "/overrides");
          if (rank > 0) run.model.rank = rank;
          run.model.hidden = hidden;
          clamp_unused_rank(run.model);
          run.train = e.train;
          overlay_fields(run.train, group.train, "/runs/" + std::to_string(g) + "/train");
          run.train.seed = seed;
          run.group = g;
          run.distributed = group.distributed;
          run.id = run_id(run.model, run.train);
          // Two groups may plan the same family and size: keep ids unique and stable.
          if (ids.count(run.id)) run.id += "-g" + std::to_string(g);
          ids.insert(run.id);
          plan.push_back(run);
        }
  }
  return plan;
}

std::string format_plan(const std::vector<PlannedRun>& plan, const std::optional<DataSizes>& sizes) {
  std::ostringstream out;
  out << "plan: " << plan.size() << " run" << (plan.size() == 1 ? "" : "s") << "\n";
  for (std::size_t i = 0; i < plan.size(); ++i) {
    out << "  " << std::setw(3) << i + 1 << ". " << plan[i].id << "  (" << plan[i].train.iterations
        << " iterations max";
    if (runs_tau_pilot(plan[i].model.learn_tau, plan[i].train))
      out << " + tau pilot " << kTauPilotFactors.size() << " x " << plan[i].train.tau_pilot_iterations;
    if (sizes) out << ", ~" << format_bytes(estimate_peak_bytes(plan[i].model, plan[i].train, *sizes)) << " peak";
    if (plan[i].distributed) out << ", distributed";
    out << ")\n";
  }
  return out.str();
}

std::optional<DataSizes> data_sizes_from_settings(const Experiment& e) {
  if (const auto* t = std::get_if<TeacherConfig>(&e.dataset))
    return DataSizes{t->bins, 3 * t->trials_per_epoch, t->neurons};
  if (const auto* r = std::get_if<ReachConfig>(&e.dataset))
    return DataSizes{r->bins, 3 * r->trials_per_epoch, r->recorded > 0 ? r->recorded : r->hidden};
  return std::nullopt;
}

void check_memory(const std::vector<PlannedRun>& plan, const DataSizes& sizes, bool force) {
  if (force) return;
  const double available = static_cast<double>(usable_memory_bytes());
  for (const PlannedRun& run : plan) {
    const double estimate = estimate_peak_bytes(run.model, run.train, sizes);
    if (estimate <= available) continue;
    throw InputError("/runs/" + std::to_string(run.group) + ": run " + run.id + " needs about " +
                     format_bytes(estimate) + " of memory (hidden " + std::to_string(run.model.hidden) + ", " +
                     std::to_string(sizes.trials) + " trials, " + std::to_string(sizes.bins) +
                     " bins), more than the " + format_bytes(available) +
                     " this machine offers; reduce the sizes, or pass --force to try anyway");
  }
}

std::vector<std::size_t> longest_runs_first(const std::vector<PlannedRun>& plan, const DataSizes& sizes) {
  std::vector<double> cost(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const ModelConfig& m = plan[i].model;
    const double K = static_cast<double>(sizes.trials), N = static_cast<double>(m.hidden),
                 R = static_cast<double>(m.rank), T = static_cast<double>(sizes.bins);
    const double evaluations = static_cast<double>(butcher_tableau(m.solver).stages() * m.substeps) * (T - 1);
    const double readout = 2 * T * K * static_cast<double>(sizes.neurons) * N;
    cost[i] = static_cast<double>(plan[i].train.iterations + tau_pilot_cost(m.learn_tau, plan[i].train)) *
              (evaluations * family_traits(m.kind).recurrent_flop(K, N, R) + readout);
  }
  std::vector<std::size_t> order(plan.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  return order;
}

json resolved_json(const Experiment& e) {
  const json analyses = analyses_json(e.analyses);
  json runs = json::array();
  for (const PlannedRun& run : plan_runs(e)) {
    runs.push_back({{"id", run.id}, {"model", fields_to_json(run.model)}, {"train", fields_to_json(run.train)}});
    if (run.distributed) runs.back()["distributed"] = true;  // only when set: older plans resolve as before
  }
  json resolved{{"name", e.name},
                {"source", e.source.string()},
                {"dataset", dataset_json(e.dataset)},
                {"preprocess", fields_to_json(e.preprocess)},
                {"mask", fields_to_json(e.mask)},
                {"train", fields_to_json(e.train)},
                {"seeds", e.seeds},
                {"outputs", fields_to_json(e.outputs)},
                {"plan", runs}};
  // Only experiments with analyses carry the key: an experiment without them resolves as
  // before analyses existed, so their output directories still resume.
  if (e.analyses.cp || e.analyses.compare_trial_factors) resolved["analyses"] = analyses;
  if (!e.description.empty()) resolved["description"] = e.description;
  return resolved;
}

void write_resolved_experiment(const fs::path& out_dir, const Experiment& experiment) {
  write_file_atomic(out_dir / "experiment.json", resolved_json(experiment).dump(2) + "\n");
}

}  // namespace ltrnn
