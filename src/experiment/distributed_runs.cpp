// Distributed runs: rank 0's announcements, the other ranks' share of each fit.
#include "experiment/distributed_runs.h"

#include <torch/torch.h>

#include <algorithm>
#include <csignal>

#include "experiment/shared_data.h"
#include "run/execute.h"
#include "train/fit.h"
#include "util/errors.h"
#include "util/interrupt.h"

namespace ltrnn {

namespace {

void check_trials_for(const Dataset& dataset, const DistributedSetup& setup) {
  if (dataset.n_trials() < setup.world_size)
    throw InputError("--distributed: " + std::to_string(setup.world_size) + " processes for " +
                     std::to_string(dataset.n_trials()) + " trials; at most one process per trial");
}

DistributedDecision receive_decision(TrialGroup& group, const std::string& id) {
  torch::Tensor decision = torch::zeros({1}, torch::kFloat64);
  group.sum(decision, "the start of " + id);
  return static_cast<DistributedDecision>(static_cast<int>(decision.item<double>()));
}

RunRecord fit_share(const SharedData& shared, const PlannedRun& run, const RunnerOptions& options, TrialGroup& group) {
  TrainConfig train = run.train;
  train.threads = 0;
  if (options.device) train.device = *options.device;
  RunOptions run_options;
  run_options.progress = false;
  run_options.resume = options.resume;
  run_options.distributed = &group;
  run_options.id = run.id;
  try {
    RunRecord record =
        execute_run(shared.dataset, shared.masks, run.model, train, options.out_dir / "runs" / run.id, run_options);
    record.id = run.id;
    return record;
  } catch (const std::exception& error) {
    // Any failure inside a distributed fit ends it for every process (the others would
    // wait in a sum this one never joins): tell them why, then stop.
    group.report_failure(one_line_message(error));
    throw;
  }
}

}  // namespace

DistributedDecision announce_distributed_run(TrialGroup& group, const std::string& id, bool fit_it) {
  const DistributedDecision decision = interrupt_signal() != 0 ? DistributedDecision::Stop
                                       : fit_it                ? DistributedDecision::Fit
                                                               : DistributedDecision::Skip;
  torch::Tensor message = torch::full({1}, static_cast<double>(decision), torch::kFloat64);
  group.sum(message, "the start of " + id);
  return decision;
}

std::unique_ptr<TrialGroup> open_trial_group(const RunnerOptions& options, const std::vector<PlannedRun>& runs,
                                             const Dataset& dataset, std::ostream& out) {
  const auto distributed_runs =
      std::count_if(runs.begin(), runs.end(), [](const PlannedRun& r) { return r.distributed; });
  if (distributed_runs == 0) return nullptr;
  if (!options.distributed) {
    out << "note: " << distributed_runs
        << " run(s) marked \"distributed\" are fitted by this one process (start several with --distributed to "
           "split their trials)\n";
    return nullptr;
  }
  const DistributedSetup& setup = *options.distributed;
  out << "distributed: rank 0 of " << setup.world_size << " (" << setup.source << "), meeting the others at "
      << setup.master_address << ":" << setup.port << "\n";
  check_trials_for(dataset, setup);
  return std::make_unique<TrialGroup>(setup);
}

std::vector<RunRecord> help_with_distributed_runs(const Experiment& e, const RunnerOptions& options,
                                                  const std::vector<PlannedRun>& plan, std::ostream& out) {
  const DistributedSetup& setup = *options.distributed;
  out << "distributed: rank " << setup.rank << " of " << setup.world_size << " (" << setup.source << "); rank 0 writes "
      << options.out_dir.string() << "\n";
  if (std::none_of(plan.begin(), plan.end(), [](const PlannedRun& r) { return r.distributed; })) {
    out << "no run of the plan is marked \"distributed\": rank 0 fits them all\n";
    return {};
  }
  if (options.threads > 0) use_compute_threads(static_cast<int>(options.threads));
  const SharedData shared = prepare_data(e, options.out_dir, false, false, out);
  check_trials_for(shared.dataset, setup);
  TrialGroup group(setup);
  std::vector<RunRecord> records;
  for (const PlannedRun& run : plan) {
    if (!run.distributed) continue;
    const DistributedDecision decision = receive_decision(group, run.id);
    if (decision == DistributedDecision::Stop) throw Interrupted("rank 0 was interrupted before " + run.id, SIGTERM);
    if (decision == DistributedDecision::Skip) continue;  // finished before (--resume)
    records.push_back(fit_share(shared, run, options, group));
    out << run.id << ": rank " << setup.rank << " " << records.back().outcome.text() << " after "
        << records.back().iterations << " iterations\n";
  }
  return records;
}

}  // namespace ltrnn
