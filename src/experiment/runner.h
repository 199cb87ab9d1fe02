// `ltrnn run`: an experiment's plan, fitted run by run, into its output directory, with
// resume and the comparison table.
#pragma once
#include <ostream>
#include <vector>

#include "experiment/collect.h"
#include "experiment/experiment.h"
#include "experiment/output_directory.h"
#include "experiment/plan.h"
#include "experiment/runner_options.h"
#include "run/record.h"

namespace ltrnn {

// Runs the experiment; returns every run's record (finished, failed or resumed).
// Refuses (InputError) an output directory holding another experiment's results, or any
// results without --resume, or one another process is writing (util/directory_lock.h),
// and a plan whose memory estimate exceeds the machine's unless options.force.
// On SIGINT/SIGTERM (util/interrupt.h) the runs in progress save their checkpoints and
// Interrupted is thrown with the command that resumes; on a full disk, WriteError.
std::vector<RunRecord> run_experiment(const Experiment& experiment, const RunnerOptions& options, std::ostream& out);

}  // namespace ltrnn
