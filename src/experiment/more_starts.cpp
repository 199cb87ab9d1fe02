// More starts for ranks that lost narrowly (docs/design.md section 5).
#include "experiment/more_starts.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "run/execute.h"

namespace ltrnn {

namespace {

// The group plans two or more distinct ranks and fits them in one process.
bool ranks_compared_in(const RunGroup& group) {
  std::set<int64_t> ranks(group.ranks.begin(), group.ranks.end());
  return ranks.size() >= 2 && !group.distributed;
}

// The further seeds of one close loss: after the experiment's last, one template per group
// and hidden size (its first seed's run).
void add_runs_of(const CloseLoss& loss, const Experiment& e, const std::vector<PlannedRun>& plan,
                 std::set<std::string>& ids, std::vector<PlannedRun>& runs) {
  const int64_t last_seed = *std::max_element(e.seeds.begin(), e.seeds.end());
  for (const PlannedRun& seed_run : plan) {
    if (seed_run.laddered() || seed_run.train.seed != e.seeds.front() || seed_run.model.kind != loss.model ||
        seed_run.model.rank != loss.rank || !ranks_compared_in(e.runs[seed_run.group]))
      continue;
    for (int64_t k = 1; k <= seed_run.train.more_starts; ++k) {
      PlannedRun run = seed_run;
      run.train.seed = last_seed + k;
      run.id = run_id(run.model, run.train);
      if (ids.count(run.id)) run.id += "-g" + std::to_string(run.group);
      ids.insert(run.id);
      runs.push_back(run);
    }
  }
}

}  // namespace

MoreStarts plan_more_starts(const Experiment& e, const std::vector<PlannedRun>& plan,
                            const std::vector<RunRecord>& records, const EntryLosses& losses) {
  MoreStarts more;
  std::set<std::string> ids;
  for (const PlannedRun& run : plan) ids.insert(run.id);
  for (const CloseLoss& loss : close_losses(compare_runs(records, losses))) {
    const std::size_t before = more.runs.size();
    add_runs_of(loss, e, plan, ids, more.runs);
    if (more.runs.size() > before) more.close_losses.push_back(loss);
  }
  return more;
}

nlohmann::json more_starts_json(const MoreStarts& more) {
  nlohmann::json entries = nlohmann::json::array();
  for (const CloseLoss& loss : more.close_losses) {
    nlohmann::json runs = nlohmann::json::array();
    for (const PlannedRun& run : more.runs)
      if (run.model.kind == loss.model && run.model.rank == loss.rank) runs.push_back(run.id);
    entries.push_back({{"model", to_string(loss.model)},
                       {"rank", loss.rank},
                       {"best_rank", loss.best_rank},
                       {"gap", loss.gap},
                       {"difference_se", loss.difference_se},
                       {"seed_spread", loss.seed_spread},
                       {"sampling_se", loss.sampling_se},
                       {"runs", runs}});
  }
  return entries;
}

std::string format_more_starts(const MoreStarts& more) {
  std::ostringstream out;
  out.precision(3);
  for (const CloseLoss& loss : more.close_losses) {
    const auto n = std::count_if(more.runs.begin(), more.runs.end(), [&](const PlannedRun& run) {
      return run.model.kind == loss.model && run.model.rank == loss.rank;
    });
    out << "more starts: " << to_string(loss.model) << " rank " << loss.rank << " lost to rank " << loss.best_rank
        << " by " << loss.gap << " (" << loss.gap / loss.difference_se
        << " standard errors of the difference) while its fits disagree by " << loss.seed_spread << " (sampling error "
        << loss.sampling_se << "): " << n << " more seeds\n";
  }
  return out.str();
}

}  // namespace ltrnn
