// `ltrnn run`: an experiment's plan, fitted run by run, into its output directory, with
// resume and the comparison table.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "experiment/shards.h"
#include "run/record.h"
#include "train/distributed.h"

namespace ltrnn {

struct RunnerOptions {
  std::filesystem::path out_dir;  // default: runs/<experiment name>
  int64_t threads = 0;            // intra-op threads per run (0: LibTorch's default; 1 when jobs > 1)
  int64_t jobs = 1;               // runs fitted at the same time (each deterministic on its own)
  bool resume = false;            // skip finished runs, continue unfinished ones from checkpoints
  bool progress = true;
  bool force = false;  // run even what the memory estimate says this machine cannot hold
  // Every run's device instead of the experiment's train.device (ltrnn run --device).
  std::optional<DeviceKind> device;
  // Fit only this shard's runs (experiment/shards.h), beside the other shards in the same
  // directory; no results.json (`collect_experiment` assembles it).
  std::optional<Shard> shard;
  // One of the processes of `ltrnn run --distributed` (train/distributed.h): the runs marked
  // "distributed" are fitted by all of them together, first; rank 0 fits the others alone
  // and writes everything, the other ranks write nothing and return the bare records.
  std::optional<DistributedSetup> distributed;
};

// Runs the experiment; returns every run's record (finished, failed or resumed).
// Refuses (InputError) an output directory holding another experiment's results, or any
// results without --resume, or one another process is writing (util/directory_lock.h),
// and a plan whose memory estimate exceeds the machine's unless options.force.
// On SIGINT/SIGTERM (util/interrupt.h) the runs in progress save their checkpoints and
// Interrupted is thrown with the command that resumes; on a full disk, WriteError.
std::vector<RunRecord> run_experiment(const Experiment& experiment, const RunnerOptions& options, std::ostream& out);

// `ltrnn collect`: results.json, results.csv and the report of an output directory whose
// runs were fitted by shards (or any `ltrnn run`), from its run directories. Refuses
// (InputError) while shards still hold the directory, or when the experiment file
// (`experiment_file`, else the "source" its experiment.json names) changed since.
struct CollectOutcome {
  std::vector<RunRecord> runs;  // every run with a summary.json, in plan order
  // "<id> (shard I/N[, has a checkpoint])" of the others, and "<id> (failed: ...; shard I/N)"
  // of runs that failed other than by diverging (--resume fits them again).
  std::vector<std::string> missing;
};
CollectOutcome collect_experiment(const std::filesystem::path& out_dir,
                                  const std::optional<std::filesystem::path>& experiment_file, std::ostream& out);

// Refuses (InputError) to write into `out_dir` when it holds results and !resume, or
// results of an experiment other than `resolved` (resolved_json).
void check_output_directory(const Experiment& experiment, const nlohmann::json& resolved,
                            const std::filesystem::path& out_dir, bool resume);

}  // namespace ltrnn
