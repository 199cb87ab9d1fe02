// How one process of `ltrnn run` takes part in an experiment (docs/design.md section 9):
// alone (the whole plan; results.json after every run, the summary at the end) or as one
// shard of several (its share of the plan, in a directory the shards share; no results.json,
// `ltrnn collect` assembles it). The runner asks the mode at each step instead of checking
// which one it is.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "experiment/output_directory.h"
#include "experiment/plan.h"
#include "experiment/runner_options.h"
#include "experiment/shared_data.h"
#include "run/record.h"
#include "util/directory_lock.h"

namespace ltrnn {

// What every step of one `ltrnn run` reads.
struct ExperimentContext {
  const Experiment& experiment;
  const RunnerOptions& options;
  nlohmann::json resolved;  // resolved_json(experiment)
  // plan_runs(experiment), then the more starts (more_starts.h) appended once the planned
  // runs have finished.
  std::vector<PlannedRun> plan;
  nlohmann::json more_starts = nlohmann::json::array();  // more_starts_json, for results.json
};

class RunMode {
 public:
  explicit RunMode(const ExperimentContext& context) : context_(context) {}
  virtual ~RunMode() = default;

  // The plan entries this process fits, in plan order.
  virtual std::vector<std::size_t> runs() const = 0;
  // Creates and locks the output directory (into `locks`); refuses one this process may not
  // write into.
  virtual void open_directory(DirectoryLocks& locks, std::ostream& out) = 0;
  // After the plan is printed: which part of it this process fits.
  virtual void describe(std::ostream& out) const = 0;
  // The data every run shares, written or checked against what another process wrote.
  virtual SharedData prepare_data(std::ostream& out) = 0;
  // Once the data are known to fit in memory, before the first run.
  virtual void begin(const SharedData& shared) = 0;
  // Holds a run's directory while it is fitted (into `lock`); InputError when another
  // process holds it.
  virtual void claim_run(const std::filesystem::path& run_dir, std::optional<DirectoryLock>& lock) = 0;
  // After each run, with every record so far in plan order.
  virtual void run_recorded(const std::vector<RunRecord>& records, std::ostream& out) = 0;
  // When an error or an interrupt ends the experiment before every run is done.
  virtual void stopped(const std::string& why) = 0;
  // After the last run.
  virtual void finish(const std::vector<RunRecord>& records, const SharedData& shared, double wall_seconds,
                      std::ostream& out) = 0;

 protected:
  const ExperimentContext& context_;
};

// LocalMode without options.shard, ShardMode with it.
std::unique_ptr<RunMode> make_run_mode(const ExperimentContext& context);

}  // namespace ltrnn
