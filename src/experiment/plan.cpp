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

namespace {

// The rank ladder's starts (docs/design.md section 5), after every seed's run so that those
// keep their plan indices (and shards their runs). Each start's model is its rank's; its
// seed (the first of the experiment) draws only the new components' directions.
void add_ladder_starts(const Experiment& e, std::vector<PlannedRun>& plan, std::set<std::string>& ids) {
  const std::size_t seeds_runs = plan.size();
  for (std::size_t g = 0; g < e.runs.size(); ++g) {
    const RunGroup& group = e.runs[g];
    std::vector<int64_t> ranks = group.ranks;
    std::sort(ranks.begin(), ranks.end());
    ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
    if (ranks.size() < 2 || !has_components(group.kind) || group.distributed) continue;
    for (int64_t hidden : group.hidden) {
      const auto found = std::find_if(plan.begin(), plan.begin() + seeds_runs, [&](const PlannedRun& run) {
        return run.group == g && run.model.hidden == hidden;
      });
      if (found == plan.begin() + seeds_runs || !found->train.ladder) continue;
      const PlannedRun template_run = *found;  // a copy: the plan grows below
      const auto add = [&](std::size_t to, std::size_t from, RunStart start, int64_t step) {
        PlannedRun run = template_run;
        run.model.rank = ranks[to];
        run.train.seed = e.seeds.front();
        run.start = start;
        run.source_rank = ranks[from];
        run.ladder_step = step;
        run.id = to_string(run.model.kind) + "-r" + std::to_string(ranks[to]) + "-n" + std::to_string(hidden) + "-" +
                 enum_name(start);
        if (ids.count(run.id)) run.id += "-g" + std::to_string(g);
        ids.insert(run.id);
        plan.push_back(run);
      };
      // The up chain's steps 0 .. n-2, then the down chain's n-1 .. 2n-3: a down start takes
      // the best fit of the rank above among all its starts, the up chain's included.
      const std::size_t n = ranks.size();
      for (std::size_t j = 1; j < n; ++j) add(j, j - 1, RunStart::Up, static_cast<int64_t>(j - 1));
      for (std::size_t j = n - 1; j-- > 0;) add(j, j + 1, RunStart::Down, static_cast<int64_t>(2 * n - 3 - j));
    }
  }
}

}  // namespace

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
  add_ladder_starts(e, plan, ids);
  return plan;
}

std::vector<std::size_t> ladder_sources(const std::vector<PlannedRun>& plan, std::size_t i) {
  const PlannedRun& run = plan.at(i);
  std::vector<std::size_t> sources;
  if (!run.laddered()) return sources;
  for (std::size_t k = 0; k < plan.size(); ++k) {
    const PlannedRun& other = plan[k];
    // Up: the seeds and the up chain (the down chain comes after it). Down: every start.
    if (other.group == run.group && other.model.hidden == run.model.hidden && other.model.rank == run.source_rank &&
        (!other.laddered() || other.start == run.start || run.start == RunStart::Down))
      sources.push_back(k);
  }
  return sources;
}

std::vector<std::vector<std::size_t>> ladder_waves(const std::vector<PlannedRun>& plan,
                                                   const std::vector<std::size_t>& runs) {
  std::vector<std::vector<std::size_t>> waves;
  for (const std::size_t i : runs) {
    if (!plan[i].laddered()) continue;
    const auto step = static_cast<std::size_t>(plan[i].ladder_step);
    if (waves.size() <= step) waves.resize(step + 1);
    waves[step].push_back(i);
  }
  return waves;
}

std::string format_plan(const std::vector<PlannedRun>& plan, const std::optional<DataSizes>& sizes) {
  std::ostringstream out;
  out << "plan: " << plan.size() << " run" << (plan.size() == 1 ? "" : "s") << "\n";
  for (std::size_t i = 0; i < plan.size(); ++i) {
    out << "  " << std::setw(3) << i + 1 << ". " << plan[i].id << "  (";
    if (plan[i].laddered())
      out << "the polish from the best rank-" << plan[i].source_rank << " fit "
          << (plan[i].start == RunStart::Up ? "plus" : "less") << " components, ";
    out << plan[i].train.iterations << " iterations max";
    if (!plan[i].laddered() && runs_tau_pilot(plan[i].model.learn_tau, plan[i].train))
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
    if (run.laddered()) {
      runs.back()["start"] = enum_name(run.start);
      runs.back()["source_rank"] = run.source_rank;
    }
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
