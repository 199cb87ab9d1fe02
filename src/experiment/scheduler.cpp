// The runs of one process: resume, fit, record failures, jobs on threads.
#include "experiment/scheduler.h"

#include <algorithm>
#include <cerrno>
#include <iomanip>
#include <thread>

#include "experiment/distributed_runs.h"
#include "experiment/output_directory.h"
#include "run/execute.h"
#include "train/fit.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace ltrnn {
namespace fs = std::filesystem;

namespace {

// A failure that ends the whole experiment rather than one run: an interrupt, or a disk
// that is full (every later run would fail the same way).
bool ends_the_experiment(const std::exception& error) {
  if (dynamic_cast<const Interrupted*>(&error) || dynamic_cast<const DistributedError*>(&error)) return true;
  const auto* write = dynamic_cast<const WriteError*>(&error);
  return write && (write->error_number == ENOSPC || write->error_number == EDQUOT);
}

std::string progress_prefix(std::size_t i, std::size_t total, const std::string& id) {
  return "[" + std::to_string(i + 1) + "/" + std::to_string(total) + "] " + id + ": ";
}

}  // namespace

RunScheduler::RunScheduler(const ExperimentContext& context, RunMode& mode, const SharedData& shared, std::ostream& out)
    : context_(context), mode_(mode), shared_(shared), out_(out), slots_(context.plan.size()) {}

std::vector<RunRecord> RunScheduler::records() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RunRecord> done;
  for (const auto& slot : slots_)
    if (slot) done.push_back(*slot);
  return done;
}

void RunScheduler::plan_grew() {
  const std::lock_guard<std::mutex> lock(mutex_);
  slots_.resize(context_.plan.size());
}

void RunScheduler::end_with(std::exception_ptr error) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!ended_) ended_ = error;
}

bool RunScheduler::has_ended() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<bool>(ended_);
}

RunRecord RunScheduler::failure_record(std::size_t i, const std::exception& error) {
  const PlannedRun& run = context_.plan[i];
  RunRecord record = planned_record(run.model, run.train);
  record.id = run.id;
  record.start = run.start;
  record.outcome = RunOutcome::failed(one_line_message(error));
  try {
    const fs::path run_dir = context_.options.out_dir / "runs" / run.id;
    fs::create_directories(run_dir);
    write_run_record(run_dir, record, nullptr);
  } catch (const std::exception&) {
    // the failure is still reported in results.json
  }
  return record;
}

std::filesystem::path RunScheduler::ladder_source(std::size_t i) const {
  const PlannedRun& run = context_.plan[i];
  std::vector<RunRecord> sources;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const std::size_t k : ladder_sources(context_.plan, i))
      if (slots_[k]) sources.push_back(*slots_[k]);
  }
  const RunRecord* best = best_finished_run(sources);
  if (!best)
    throw InputError(run.id + ": no finished rank-" + std::to_string(run.source_rank) +
                     " fit of this group and hidden size to start the rank ladder from");
  return context_.options.out_dir / "runs" / best->id;
}

std::optional<RunRecord> RunScheduler::fitted_record(std::size_t i, TrialGroup* group) {
  const PlannedRun& run = context_.plan[i];
  const RunnerOptions& options = context_.options;
  const Experiment& e = context_.experiment;
  try {
    TrainConfig train = run.train;
    train.threads = 0;  // set once per job, not per run (runs may share the process)
    if (options.device) train.device = *options.device;
    RunOptions run_options{options.progress && options.jobs == 1,
                           options.resume,
                           e.outputs.predictions,
                           e.outputs.factors,
                           e.outputs.export_model,
                           group};
    run_options.id = run.id;
    if (run.laddered()) {
      run_options.ladder_source = ladder_source(i);
      run_options.start = run.start;
    }
    throw_if_interrupted("interrupted before " + run.id);
    RunRecord record =
        execute_run(shared_.dataset, shared_.masks, run.model, train, options.out_dir / "runs" / run.id, run_options);
    record.id = run.id;
    return record;
  } catch (const std::exception& error) {
    if (group) group->report_failure(one_line_message(error));
    if (ends_the_experiment(error) || group) {
      // The run keeps its checkpoint and no summary.json: --resume continues it. (In a
      // distributed fit any error ends the experiment: the others wait in its sums.)
      end_with(std::current_exception());
      return std::nullopt;
    }
    return failure_record(i, error);
  }
}

void RunScheduler::fit_one(std::size_t i, TrialGroup* group) {
  const PlannedRun& run = context_.plan[i];
  const std::string prefix = progress_prefix(i, context_.plan.size(), run.id);
  const fs::path run_dir = context_.options.out_dir / "runs" / run.id;
  std::optional<DirectoryLock> run_lock;
  try {
    mode_.claim_run(run_dir, run_lock);
  } catch (const InputError& busy) {
    const std::lock_guard<std::mutex> lock(mutex_);
    out_ << prefix << "skipped, " << one_line_message(busy) << std::endl;
    return;
  }
  std::optional<RunRecord> record = final_record(run_dir, context_.options.resume);
  if (record) {
    record->id = run.id;  // the plan's (a summary.json written before it carried the plan's id)
    const std::lock_guard<std::mutex> lock(mutex_);
    out_ << prefix << "already " << record->outcome.text() << std::endl;
  } else {
    record = fitted_record(i, group);
    if (!record) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    const std::string from = record->start_from.empty() ? "" : " from " + record->start_from;
    out_ << prefix << record->outcome.text() << from << ", test nMSE " << record->test_nmse << " ("
         << record->iterations << " iterations, " << std::fixed << std::setprecision(1) << record->seconds << " s)"
         << std::defaultfloat << std::setprecision(6) << std::endl;
  }
  std::vector<RunRecord> so_far;
  const std::lock_guard<std::mutex> lock(mutex_);
  slots_[i] = record;
  for (const auto& slot : slots_)
    if (slot) so_far.push_back(*slot);
  mode_.run_recorded(so_far, out_);
}

void RunScheduler::fit_together(const std::vector<std::size_t>& runs, TrialGroup& group) {
  for (const std::size_t i : runs) {
    const PlannedRun& run = context_.plan[i];
    if (!run.distributed) continue;
    const bool fit_it = !final_record(context_.options.out_dir / "runs" / run.id, context_.options.resume);
    DistributedDecision decision = DistributedDecision::Skip;
    try {
      decision = announce_distributed_run(group, run.id, fit_it);
    } catch (const std::exception&) {
      end_with(std::current_exception());
      return;
    }
    if (decision == DistributedDecision::Stop) {
      end_with(std::make_exception_ptr(Interrupted("interrupted before " + run.id, interrupt_signal())));
      return;
    }
    fit_one(i, &group);
    if (has_ended()) return;
  }
}

bool RunScheduler::ready(std::size_t i, const std::vector<std::size_t>& order) const {
  for (const std::size_t k : ladder_sources(context_.plan, i))
    if (!slots_[k] && std::find(order.begin(), order.end(), k) != order.end()) return false;
  return true;
}

std::optional<std::size_t> RunScheduler::take_next(const std::vector<std::size_t>& order) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (ended_) return std::nullopt;
    std::optional<std::size_t> waiting;
    for (std::size_t n = 0; n < order.size(); ++n) {
      if (taken_[n]) continue;
      if (ready(order[n], order)) {
        taken_[n] = true;
        ++running_;
        return n;
      }
      if (!waiting) waiting = n;
    }
    if (!waiting) return std::nullopt;  // every entry taken
    // A start whose sources will not come (another process holds one): it records why.
    if (running_ == 0) {
      taken_[*waiting] = true;
      ++running_;
      return waiting;
    }
    run_done_.wait(lock);
  }
}

void RunScheduler::work_through(const std::vector<std::size_t>& order) {
  const int64_t threads = context_.options.threads_per_run();
  if (threads > 0) use_compute_threads(static_cast<int>(threads));
  while (const std::optional<std::size_t> n = take_next(order)) {
    fit_one(order[*n], nullptr);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      --running_;
    }
    run_done_.notify_all();
  }
}

void RunScheduler::fit(const std::vector<std::size_t>& order) {
  if (has_ended()) return;
  taken_.assign(order.size(), false);
  running_ = 0;
  const int64_t jobs = std::min<int64_t>(context_.options.jobs, static_cast<int64_t>(order.size()));
  if (jobs <= 1) {
    work_through(order);
    return;
  }
  std::vector<std::thread> workers;
  for (int64_t j = 0; j < jobs; ++j) workers.emplace_back([this, &order] { work_through(order); });
  for (auto& worker : workers) worker.join();
}

void RunScheduler::rethrow_if_ended() const {
  std::exception_ptr ended;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    ended = ended_;
  }
  if (!ended) return;
  const std::string resume = resume_command(context_.experiment, context_.options);
  try {
    std::rethrow_exception(ended);
  } catch (const Interrupted& interrupted) {
    mode_.stopped(one_line_message(interrupted));
    throw Interrupted(std::string(interrupted.what()) + "; finished runs are kept, continue with: " + resume,
                      interrupted.signal_number);
  } catch (const WriteError& error) {
    mode_.stopped(one_line_message(error));
    throw WriteError(std::string(error.what()) + " (finished runs are kept; free space, then: " + resume + ")",
                     error.error_number);
  } catch (const std::exception& error) {
    mode_.stopped(one_line_message(error));
    throw;
  }
}

}  // namespace ltrnn
