// `ltrnn run`: an experiment's plan, fitted run by run, into its output directory, with
// resume and the comparison table.
#pragma once
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/pipeline.h"

namespace ltrnn {

struct RunnerOptions {
  std::filesystem::path out_dir;  // default: runs/<experiment name>
  int64_t threads = 0;            // intra-op threads per run (0: LibTorch's default; 1 when jobs > 1)
  int64_t jobs = 1;               // runs fitted at the same time (each deterministic on its own)
  bool resume = false;            // skip finished runs, continue unfinished ones from checkpoints
  bool progress = true;
};

// One row of the summary table: a family at a rank (0 for families without one).
struct SummaryRow {
  std::string model;
  int64_t rank = 0;
  int64_t finished = 0, planned = 0;  // runs over seeds
  // Over finished seeds: mean, std (n - 1), and the standard error of the mean,
  // sqrt(std^2 / n + mean of the runs' test_nmse_se^2): seed-to-seed variation plus the
  // sampling error of the one test set every seed shares.
  double mean_nmse = 0, std_nmse = 0, sem_nmse = 0;
};

struct SummaryTable {
  std::vector<SummaryRow> rows;
  // Per ranked family: the smallest rank whose mean test nMSE is within one standard
  // error (sem_nmse of the best rank) of the best mean -- the one-standard-error rule.
  std::map<std::string, int64_t> selected_rank;
};

SummaryTable summarise(const std::vector<RunSummary>& runs);
std::string format_summary(const SummaryTable& table);
std::string format_plan(const std::vector<PlannedRun>& plan);

// Runs the experiment; returns every run's summary (finished, failed or resumed).
// Refuses (InputError) an output directory holding another experiment's results, or any
// results without --resume.
std::vector<RunSummary> run_experiment(const Experiment& experiment, const RunnerOptions& options,
                                       std::ostream& out);

}  // namespace ltrnn
