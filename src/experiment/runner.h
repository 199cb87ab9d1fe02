// `ltrnn run`: an experiment's plan, fitted run by run, into its output directory, with
// resume and the comparison table.
#pragma once
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "run/record.h"

namespace ltrnn {

struct RunnerOptions {
  std::filesystem::path out_dir;  // default: runs/<experiment name>
  int64_t threads = 0;            // intra-op threads per run (0: LibTorch's default; 1 when jobs > 1)
  int64_t jobs = 1;               // runs fitted at the same time (each deterministic on its own)
  bool resume = false;            // skip finished runs, continue unfinished ones from checkpoints
  bool progress = true;
};

// Runs the experiment; returns every run's record (finished, failed or resumed).
// Refuses (InputError) an output directory holding another experiment's results, or any
// results without --resume.
std::vector<RunRecord> run_experiment(const Experiment& experiment, const RunnerOptions& options, std::ostream& out);

}  // namespace ltrnn
