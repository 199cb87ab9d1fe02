// The runs marked "distributed" under `ltrnn run --distributed` (docs/design.md section 9):
// every process fits its share of the trials of each such run, one run at a time, in plan
// order; rank 0 decides which runs are fitted and writes everything.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "experiment/runner_options.h"
#include "run/record.h"
#include "train/distributed.h"

namespace ltrnn {

// What rank 0 tells the others before each distributed run.
enum class DistributedDecision { Skip = 0, Fit = 1, Stop = 2 };

// Rank 0: tells the others whether the run `id` is fitted (a finished one is skipped on
// --resume; Stop after an interrupt) and returns that decision.
DistributedDecision announce_distributed_run(TrialGroup& group, const std::string& id, bool fit_it);

// Rank 0's group, when this process is rank 0 of --distributed and `runs` holds a run
// marked distributed; otherwise nothing (with a note when such runs are fitted alone).
std::unique_ptr<TrialGroup> open_trial_group(const RunnerOptions& options, const std::vector<PlannedRun>& runs,
                                             const Dataset& dataset, std::ostream& out);

// A rank other than 0: the same data, computed without writing it, then its share of each
// distributed run that rank 0 says it fits, in plan order; the bare records (nothing is
// written). Any failure inside a fit is reported to the others, then rethrown.
std::vector<RunRecord> help_with_distributed_runs(const Experiment& experiment, const RunnerOptions& options,
                                                  const std::vector<PlannedRun>& plan, std::ostream& out);

}  // namespace ltrnn
