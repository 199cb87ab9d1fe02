// More starts (docs/design.md section 5): once every planned run of an experiment has
// finished, a rank that lost the selection narrowly while its fits disagree
// (run/comparison.h CloseLoss) gets train.more_starts further seeds, and the rank is
// selected again over every fit. Bounded: one round, decided from the planned runs alone,
// so a resumed or collected experiment decides the same runs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "run/comparison.h"

namespace ltrnn {

struct MoreStarts {
  std::vector<CloseLoss> close_losses;  // the ranks that get them
  std::vector<PlannedRun> runs;         // the further seeds' runs, seed order per rank
};

// The more starts that `records` (the plan's runs) call for: for each close loss, train.more_starts
// seeds after the experiment's last, of every group and hidden size that plans the rank with
// two or more ranks and is not distributed. Ids as a seed's run, unique against `plan`.
MoreStarts plan_more_starts(const Experiment& experiment, const std::vector<PlannedRun>& plan,
                            const std::vector<RunRecord>& records, const EntryLosses& losses);

// results.json's "more_starts": one entry per close loss (model, rank, best_rank, gap,
// difference_se, seed_spread, sampling_se, runs); an empty array when there is none.
nlohmann::json more_starts_json(const MoreStarts& more);
// One line per close loss, as `ltrnn run` prints it; empty when there is none.
std::string format_more_starts(const MoreStarts& more);

}  // namespace ltrnn
