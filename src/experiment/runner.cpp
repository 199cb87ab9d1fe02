// The experiment runner: the output directory, the shared data once, then each planned run
// (docs/design.md section 9). What differs between a process alone and a shard lives in
// run_modes.h, the fitting of the runs in scheduler.h, the distributed runs in
// distributed_runs.h.
#include "experiment/runner.h"

#include <algorithm>
#include <chrono>

#include "experiment/distributed_runs.h"
#include "experiment/more_starts.h"
#include "experiment/run_modes.h"
#include "experiment/scheduler.h"
#include "experiment/shared_data.h"
#include "train/fit.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

std::vector<PlannedRun> selected_runs(const std::vector<PlannedRun>& plan, const std::vector<std::size_t>& indices) {
  std::vector<PlannedRun> runs;
  for (const std::size_t i : indices) runs.push_back(plan[i]);
  return runs;
}

// One job takes the runs in plan order, several the longest first (plan.h), so the last
// job to finish is not the one that started the longest run last.
std::vector<std::size_t> fitting_order(const std::vector<std::size_t>& mine, const std::vector<PlannedRun>& my_plan,
                                       const Dataset& dataset, int64_t jobs) {
  if (jobs <= 1) return mine;
  std::vector<std::size_t> order;
  for (const std::size_t k : longest_runs_first(my_plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()}))
    order.push_back(mine[k]);
  return order;
}

std::vector<std::size_t> without_distributed(std::vector<std::size_t> order, const std::vector<PlannedRun>& plan) {
  order.erase(std::remove_if(order.begin(), order.end(), [&](std::size_t i) { return plan[i].distributed; }),
              order.end());
  return order;
}

// The seeds' runs: the ladder's starts wait for them (plan.h ladder_waves).
std::vector<std::size_t> without_ladder(std::vector<std::size_t> order, const std::vector<PlannedRun>& plan) {
  order.erase(std::remove_if(order.begin(), order.end(), [&](std::size_t i) { return plan[i].laddered(); }),
              order.end());
  return order;
}

// The more starts (more_starts.h) the planned runs call for, appended to the plan and fitted;
// what was decided goes to results.json. (Shards fit the seeds' runs only: the process that
// fits the ladder with --resume decides them.)
void fit_more_starts(ExperimentContext& context, RunScheduler& scheduler, std::ostream& out) {
  const MoreStarts more =
      plan_more_starts(context.experiment, context.plan, scheduler.records(), entry_losses_in(context.options.out_dir));
  context.more_starts = more_starts_json(more);
  if (more.runs.empty()) return;
  out << format_more_starts(more) << std::flush;
  std::vector<std::size_t> added;
  for (const PlannedRun& run : more.runs) {
    added.push_back(context.plan.size());
    context.plan.push_back(run);
  }
  scheduler.plan_grew();
  scheduler.fit(added);
  scheduler.rethrow_if_ended();
}

}  // namespace

std::vector<RunRecord> run_experiment(const Experiment& e, const RunnerOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  ExperimentContext context{e, options, resolved_json(e), plan_runs(e)};
  if (options.distributed && options.shard)
    throw InputError("--distributed and --shard: a sharded run fits whole runs per process; choose one");
  if (options.distributed && options.distributed->rank != 0)
    return help_with_distributed_runs(e, options, context.plan, out);
  const std::unique_ptr<RunMode> mode = make_run_mode(context);
  const std::vector<std::size_t> mine = mode->runs();
  const std::vector<PlannedRun> my_plan = selected_runs(context.plan, mine);
  const std::optional<DataSizes> planned_sizes = data_sizes_from_settings(e);
  if (planned_sizes) check_memory(my_plan, *planned_sizes, options.force);  // before anything is written
  DirectoryLocks locks;
  mode->open_directory(locks, out);
  out << format_plan(context.plan, planned_sizes) << std::flush;
  mode->describe(out);

  // 1. Data, preprocessing and the cross-validation mask: once, shared by every run.
  const int64_t threads_per_run = options.threads_per_run();
  if (threads_per_run > 0) use_compute_threads(static_cast<int>(threads_per_run));
  const SharedData shared = mode->prepare_data(out);
  const Dataset& dataset = shared.dataset;
  if (!planned_sizes) check_memory(my_plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()}, options.force);
  mode->begin(shared);
  const std::unique_ptr<TrialGroup> group = open_trial_group(options, my_plan, dataset, out);

  // 2. Each run: the runs marked distributed first, with every process; then the others.
  RunScheduler scheduler(context, *mode, shared, out);
  std::vector<std::size_t> order = without_ladder(fitting_order(mine, my_plan, dataset, options.jobs), context.plan);
  if (group) {
    scheduler.fit_together(mine, *group);
    order = without_distributed(order, context.plan);
  }
  // The rank ladder's starts (docs/design.md section 5), wave by wave, ahead of the seeds'
  // runs: a job takes the first entry whose sources are done, so each chain goes on as soon
  // as it can (its steps are sequential) while the seeds' runs fill the other jobs.
  std::vector<std::size_t> ladder_first;
  for (const std::vector<std::size_t>& wave : ladder_waves(context.plan, mine))
    ladder_first.insert(ladder_first.end(), wave.begin(), wave.end());
  ladder_first.insert(ladder_first.end(), order.begin(), order.end());
  scheduler.fit(ladder_first);
  scheduler.rethrow_if_ended();
  if (!options.shard) fit_more_starts(context, scheduler, out);

  // 3-5. The comparison table, the analyses, results.json and the report (alone), or the
  // shard's record.
  const std::vector<RunRecord> results = scheduler.records();
  mode->finish(results, shared, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), out);
  return results;
}

}  // namespace ltrnn
