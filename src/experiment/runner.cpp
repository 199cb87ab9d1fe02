// The experiment runner: dataset once, masks once, then each planned run.
#include "experiment/runner.h"

#include <torch/torch.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iomanip>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "data/dataset.h"
#include "data/masks.h"
#include "data/preprocess.h"
#include "experiment/analyses.h"
#include "experiment/dataset_source.h"
#include "experiment/shards.h"
#include "io/npy.h"
#include "report/report.h"
#include "run/comparison.h"
#include "run/execute.h"
#include "run/results.h"
#include "train/fit.h"
#include "util/directory_lock.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

void check_output_directory(const Experiment& e, const json& resolved, const fs::path& out_dir, bool resume) {
  const fs::path saved = out_dir / "experiment.json";
  if (!fs::exists(saved)) return;
  if (!resume)
    throw InputError(out_dir.string() +
                     " already holds an experiment's results; pass --resume to continue it "
                     "or --out to write elsewhere");
  json previous;
  try {
    previous = json::parse(read_file(saved));
  } catch (const json::exception& error) {
    throw InputError(saved.string() + ": unreadable (" + error.what() + "); use another --out");
  }
  json current = resolved;
  // What does not change the numbers may differ: where the file lives, its description,
  // whether a report is written, and the device (its numbers agree to rounding).
  for (json* document : {&previous, &current}) {
    document->erase("source");
    document->erase("description");
    if (document->contains("outputs")) (*document)["outputs"].erase("report");
    if (document->contains("train") && (*document)["train"].is_object()) (*document)["train"].erase("device");
  }
  if (previous != current)
    throw InputError(out_dir.string() + "/experiment.json differs from " + e.source.string() +
                     ": the experiment changed since it was started; use another --out");
}

namespace {

// A failure that ends the whole experiment rather than one run: an interrupt, or a disk
// that is full (every later run would fail the same way).
bool ends_the_experiment(const std::exception& error) {
  if (dynamic_cast<const Interrupted*>(&error) || dynamic_cast<const DistributedError*>(&error)) return true;
  const auto* write = dynamic_cast<const WriteError*>(&error);
  return write && (write->error_number == ENOSPC || write->error_number == EDQUOT);
}

std::string resume_command(const Experiment& e, const fs::path& out_dir, const std::optional<Shard>& shard) {
  return "ltrnn run " + e.source.string() + " --out " + out_dir.string() +
         (shard ? " --shard " + shard->text() : std::string()) + " --resume";
}

// The data every run shares: the dataset (loaded, or generated and saved when `save`),
// preprocessed, and the cross-validation masks.
struct SharedData {
  Dataset dataset;
  Masks masks;
  json notes = json::object();  // what the generator reported (results.json)
};

// A shard that did not write dataset.npz checks that it generated the same data: a
// generator's numbers may depend on the machine's kernels or thread count.
void check_same_data(const fs::path& saved, const Dataset& raw) {
  const std::map<std::string, NpyArray> arrays = read_npz(saved);
  const auto it = arrays.find("data");
  if (it == arrays.end() || !torch::equal(from_npy(it->second).to(torch::kFloat64), raw.data.to(torch::kFloat64)))
    throw InputError(saved.string() +
                     ": the data this shard generated differ from those the first shard wrote (a generator whose "
                     "numbers depend on the machine's kernels or the thread count); run every shard with the same "
                     "--threads on the same kind of machine, or give the experiment that dataset.npz as its file");
}

// `compare_with_saved`: a generated dataset must equal out_dir/dataset.npz (check_same_data).
SharedData prepare_data(const Experiment& e, const fs::path& out_dir, bool save, bool compare_with_saved,
                        std::ostream& out) {
  SharedData shared;
  const Dataset raw = experiment_dataset(e, out_dir, out, shared.notes, save);
  if (compare_with_saved && !e.dataset.file) check_same_data(out_dir / "dataset.npz", raw);
  shared.dataset = preprocess(raw, e.preprocess);
  const Dataset& dataset = shared.dataset;
  for (const auto& note : dataset.notes) out << "note: " << note << "\n";
  shared.masks = without_missing(make_block_masks(dataset.n_bins(), dataset.n_trials(), dataset.n_neurons(), e.mask),
                                 dataset.missing);
  const Masks& masks = shared.masks;
  out << "data: " << dataset.n_bins() << " bins x " << dataset.n_trials() << " trials x " << dataset.n_neurons()
      << " neurons; " << masks.test.sum().item<int64_t>() << " test entries, " << masks.validation.sum().item<int64_t>()
      << " validation entries, " << masks.train.sum().item<int64_t>() << " training entries";
  if (dataset.missing.defined())
    out << "; " << dataset.missing.sum().item<int64_t>() << " missing entries (in neither)";
  out << std::endl;
  return shared;
}

// The experiment's shared files: masks.npz, the generator's notes, and experiment.json
// last (its presence tells shards that the others are complete).
void write_shared_files(const Experiment& e, const fs::path& out_dir, const SharedData& shared) {
  const Masks& masks = shared.masks;
  write_npz(out_dir / "masks.npz",
            {{"train", to_npy(masks.train)}, {"validation", to_npy(masks.validation)}, {"test", to_npy(masks.test)}});
  write_file_atomic(out_dir / "dataset_notes.json", shared.notes.dump(2) + "\n");
  write_resolved_experiment(out_dir, e);
}

// A shard that did not create the shared files checks that its own masks are the ones the
// other shards fit with (the dataset and masks are deterministic given their seeds).
void check_shared_masks(const fs::path& out_dir, const Masks& masks) {
  const fs::path path = out_dir / "masks.npz";
  const std::map<std::string, NpyArray> saved = read_npz(path);
  for (const auto& [key, mask] : {std::pair<std::string, torch::Tensor>{"train", masks.train},
                                  {"validation", masks.validation},
                                  {"test", masks.test}}) {
    const auto it = saved.find(key);
    if (it == saved.end() || !torch::equal(from_npy(it->second), mask))
      throw InputError(path.string() + ": the \"" + key +
                       "\" mask differs from the one this shard computes from the experiment; "
                       "the dataset or mask settings changed, use another --out");
  }
}

// Opens the output directory for this process: creates it, takes its lock (exclusive, or
// shared by the shards plus each shard's own), removes what killed writes left behind.
struct DirectoryLocks {
  std::optional<DirectoryLock> directory, shard;
};

void open_output_directory(const RunnerOptions& options, DirectoryLocks& locks, std::ostream& out) {
  const bool existed = fs::exists(options.out_dir);
  try {
    fs::create_directories(options.out_dir);
  } catch (const fs::filesystem_error& error) {
    throw write_error(options.out_dir, error.code().value());
  }
  try {
    locks.directory.emplace(options.out_dir, options.shard ? LockMode::Shared : LockMode::Exclusive);
    if (options.shard)
      locks.shard.emplace(
          options.out_dir, LockMode::Exclusive,
          ".shard-" + std::to_string(options.shard->index) + "-of-" + std::to_string(options.shard->count) + ".lock");
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    if (!existed) fs::remove_all(options.out_dir);
    throw;
  }
  if (!locks.directory->takeover_note().empty()) out << locks.directory->takeover_note() << "\n";
  // A shard owns only its runs' directories: the temporary files of the others may be
  // writes in progress.
  if (!options.shard) {
    if (const int removed = remove_temporary_files(options.out_dir))
      out << "note: removed " << removed << " temporary file(s) of writes a killed process did not finish\n";
  }
}

// The shared files of a sharded run: the first shard to take the setup lock generates the
// data and writes them; every other shard waits for that, then checks they belong to its
// own experiment and computes the same data without writing it.
SharedData prepare_shard(const Experiment& e, const json& resolved, const RunnerOptions& options,
                         const std::vector<PlannedRun>& plan, const std::vector<std::size_t>& mine, std::ostream& out) {
  const Shard& shard = *options.shard;
  bool first = false;
  {
    const DirectoryLock setup(options.out_dir, LockMode::Exclusive, ".setup.lock", LockWait::Wait);
    first = !fs::exists(options.out_dir / "experiment.json");
    if (first) {
      out << "shard " << shard.text() << ": writing the experiment's shared files\n";
      SharedData shared = prepare_data(e, options.out_dir, true, false, out);
      write_shared_files(e, options.out_dir, shared);
      return shared;
    }
    check_output_directory(e, resolved, options.out_dir, true);
  }
  if (!options.resume)
    for (const std::size_t i : mine)
      if (fs::exists(options.out_dir / "runs" / plan[i].id))
        throw InputError((options.out_dir / "runs" / plan[i].id).string() + " already exists (shard " + shard.text() +
                         " ran before); pass --resume to continue it, or use another --out");
  for (const std::size_t i : mine) remove_temporary_files(options.out_dir / "runs" / plan[i].id);
  SharedData shared = prepare_data(e, options.out_dir, false, true, out);
  check_shared_masks(options.out_dir, shared.masks);
  shared.notes = json::parse(read_file(options.out_dir / "dataset_notes.json"));
  return shared;
}

std::vector<PlannedRun> selected_runs(const std::vector<PlannedRun>& plan, const std::vector<std::size_t>& indices) {
  std::vector<PlannedRun> runs;
  for (const std::size_t i : indices) runs.push_back(plan[i]);
  return runs;
}

// The record of a run that needs no fitting on --resume: finished or diverged. A run that
// failed for another reason (an error, a full disk) is tried again from its checkpoint, and
// an unreadable summary.json means fitting it again.
std::optional<RunRecord> final_record(const fs::path& run_dir, bool resume) {
  if (!resume) return std::nullopt;
  try {
    std::optional<RunRecord> record = read_run_record(run_dir);
    if (record && record->outcome.status == RunStatus::Failed) return std::nullopt;
    return record;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// What rank 0 tells the others before each distributed run.
constexpr double kSkipRun = 0, kFitRun = 1, kStopRun = 2;

void check_trials_for(const Dataset& dataset, const DistributedSetup& setup) {
  if (dataset.n_trials() < setup.world_size)
    throw InputError("--distributed: " + std::to_string(setup.world_size) + " processes for " +
                     std::to_string(dataset.n_trials()) + " trials; at most one process per trial");
}

// A rank other than 0 of `ltrnn run --distributed`: the same data, computed without writing
// it, then its share of each distributed run that rank 0 says it fits, in plan order.
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
    torch::Tensor decision = torch::zeros({1}, torch::kFloat64);
    group.sum(decision, "the start of " + run.id);
    if (decision.item<double>() == kStopRun) throw Interrupted("rank 0 was interrupted before " + run.id, SIGTERM);
    if (decision.item<double>() == kSkipRun) continue;  // finished before (--resume)
    TrainConfig train = run.train;
    train.threads = 0;
    if (options.device) train.device = *options.device;
    RunOptions run_options;
    run_options.progress = false;
    run_options.resume = options.resume;
    run_options.distributed = &group;
    try {
      records.push_back(
          execute_run(shared.dataset, shared.masks, run.model, train, options.out_dir / "runs" / run.id, run_options));
    } catch (const std::exception& error) {
      // Any failure inside a distributed fit ends it for every process (the others would
      // wait in a sum this one never joins): tell them why, then stop.
      group.report_failure(one_line_message(error));
      throw;
    }
    records.back().id = run.id;
    out << run.id << ": rank " << setup.rank << " " << records.back().outcome.text() << " after "
        << records.back().iterations << " iterations\n";
  }
  return records;
}

// Comparison table, analyses, results.json/csv and the report of the runs so far.
void summarise_experiment(const Experiment& e, const fs::path& out_dir, const json& resolved,
                          const std::vector<RunRecord>& results, json extra, std::ostream& out) {
  const ComparisonTable table = compare_runs(results, entry_losses_in(out_dir));
  out << "\n" << format_comparison(table);
  const fs::path dataset_npz = e.dataset.file ? *e.dataset.file : out_dir / "dataset.npz";
  const json analyses = run_analyses(e, out_dir, dataset_npz, results, table.selected_rank, out);
  if (!analyses.empty()) extra["analyses"] = analyses;
  write_results(out_dir, resolved, results, extra);
  out << "results in " << (out_dir / "results.json").string() << "\n";
  // The results are saved already: a report that cannot be written is a warning.
  if (e.outputs.report) {
    out << "writing the report...\n" << std::flush;
    try {
      out << "report: " << write_report(out_dir).string() << "\n";
    } catch (const std::exception& error) {
      out << "warning: report.html not written: " << one_line_message(error)
          << " (the results are saved; `ltrnn report " << out_dir.string() << "` writes it once this is fixed)\n";
    }
  }
}

}  // namespace

std::vector<RunRecord> run_experiment(const Experiment& e, const RunnerOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PlannedRun> plan = plan_runs(e);
  if (options.distributed && options.shard)
    throw InputError("--distributed and --shard: a sharded run fits whole runs per process; choose one");
  if (options.distributed && options.distributed->rank != 0) return help_with_distributed_runs(e, options, plan, out);
  std::vector<std::size_t> mine(plan.size());
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = i;
  if (options.shard) mine = runs_of_shard(plan.size(), *options.shard);
  const std::vector<PlannedRun> my_plan = selected_runs(plan, mine);
  const json resolved = resolved_json(e);
  const std::optional<DataSizes> planned_sizes = data_sizes_from_settings(e);
  if (planned_sizes) check_memory(my_plan, *planned_sizes, options.force);  // before anything is written
  DirectoryLocks locks;
  open_output_directory(options, locks, out);
  if (!options.shard) check_output_directory(e, resolved, options.out_dir, options.resume);
  out << format_plan(plan, planned_sizes) << std::flush;
  if (options.shard)
    out << "shard " << options.shard->text() << ": " << mine.size() << " of the " << plan.size()
        << " runs (plan entries i with i mod " << options.shard->count << " = " << options.shard->index << ")\n";

  // 1. Data, preprocessing and the cross-validation mask: once, shared by every run.
  // Several jobs: each run single-threaded unless told otherwise, so the jobs do not
  // compete for cores; a run's numbers depend only on its own thread count.
  const int64_t threads_per_run = options.jobs > 1 && options.threads == 0 ? 1 : options.threads;
  if (threads_per_run > 0) use_compute_threads(static_cast<int>(threads_per_run));
  const SharedData shared = options.shard ? prepare_shard(e, resolved, options, plan, mine, out)
                                          : prepare_data(e, options.out_dir, true, false, out);
  const Dataset& dataset = shared.dataset;
  const Masks& masks = shared.masks;
  if (!planned_sizes) check_memory(my_plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()}, options.force);
  if (!options.shard) write_shared_files(e, options.out_dir, shared);
  std::vector<std::string> my_ids;
  for (const PlannedRun& run : my_plan) my_ids.push_back(run.id);
  if (options.shard) write_shard_record(options.out_dir, *options.shard, my_ids, "running");
  const auto distributed_runs =
      std::count_if(my_plan.begin(), my_plan.end(), [](const PlannedRun& r) { return r.distributed; });
  std::unique_ptr<TrialGroup> group;
  if (options.distributed && distributed_runs > 0) {
    out << "distributed: rank 0 of " << options.distributed->world_size << " (" << options.distributed->source
        << "), meeting the others at " << options.distributed->master_address << ":" << options.distributed->port
        << "\n";
    check_trials_for(dataset, *options.distributed);
    group = std::make_unique<TrialGroup>(*options.distributed);
  } else if (distributed_runs > 0) {
    out << "note: " << distributed_runs
        << " run(s) marked \"distributed\" are fitted by this one process (start several with --distributed to "
           "split their trials)\n";
  }

  // 2. Each run: reuse a finished one on resume; a failing run is recorded and the rest go
  //    on. One job takes the runs in plan order, several the longest first (plan.h);
  //    results are kept and written in plan order.
  std::vector<std::size_t> order = mine;
  if (options.jobs > 1) {
    order.clear();
    for (const std::size_t k : longest_runs_first(my_plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()}))
      order.push_back(mine[k]);
  }
  std::vector<std::optional<RunRecord>> slots(plan.size());
  std::mutex mutex;  // guards slots, `out` and the results files
  std::atomic<std::size_t> next_run{0};
  std::exception_ptr ended;  // the first error that ends the experiment (guarded by mutex)
  const auto collect = [&] {
    std::vector<RunRecord> done;
    for (const auto& slot : slots)
      if (slot) done.push_back(*slot);
    return done;
  };
  const auto run_one = [&](std::size_t i, TrialGroup* with_group) {
    const PlannedRun& run = plan[i];
    const fs::path run_dir = options.out_dir / "runs" / run.id;
    // A shard holds each of its runs' directories while it writes them: shards of
    // different counts, or one array task resubmitted alone (its own shard 0/1), never
    // write the same run at once.
    std::optional<DirectoryLock> run_lock;
    if (options.shard) {
      try {
        fs::create_directories(run_dir);
        run_lock.emplace(run_dir);
      } catch (const InputError& busy) {
        const std::lock_guard<std::mutex> lock(mutex);
        out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": skipped, " << one_line_message(busy)
            << std::endl;
        return;
      }
    }
    std::optional<RunRecord> record = final_record(run_dir, options.resume);
    if (record) {
      const std::lock_guard<std::mutex> lock(mutex);
      out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": already " << record->outcome.text()
          << std::endl;
    } else {
      try {
        TrainConfig train = run.train;
        train.threads = 0;  // set once above, not per run (runs may share the process)
        if (options.device) train.device = *options.device;
        RunOptions run_options{options.progress && options.jobs == 1,
                               options.resume,
                               e.outputs.predictions,
                               e.outputs.factors,
                               e.outputs.export_model,
                               with_group};
        throw_if_interrupted("interrupted before " + run.id);
        record = execute_run(dataset, masks, run.model, train, run_dir, run_options);
        record->id = run.id;
      } catch (const std::exception& error) {
        if (with_group) with_group->report_failure(one_line_message(error));
        if (ends_the_experiment(error) || with_group) {
          // The run keeps its checkpoint and no summary.json: --resume continues it. (In a
          // distributed fit any error ends the experiment: the others wait in its sums.)
          const std::lock_guard<std::mutex> lock(mutex);
          if (!ended) ended = std::current_exception();
          return;
        }
        record = planned_record(run.model, run.train);
        record->id = run.id;
        record->outcome = RunOutcome::failed(one_line_message(error));
        try {
          fs::create_directories(run_dir);
          write_run_record(run_dir, *record, nullptr);
        } catch (const std::exception&) {
          // the failure is still reported in results.json
        }
      }
      const std::lock_guard<std::mutex> lock(mutex);
      out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": " << record->outcome.text() << ", test nMSE "
          << record->test_nmse << " (" << record->iterations << " iterations, " << std::fixed << std::setprecision(1)
          << record->seconds << " s)" << std::defaultfloat << std::setprecision(6) << std::endl;
    }
    const std::lock_guard<std::mutex> lock(mutex);
    slots[i] = record;
    if (options.shard) return;  // no shard writes results.json: `ltrnn collect` does
    try {
      write_results(options.out_dir, resolved, collect());  // partial results survive a crash
    } catch (const std::exception& error) {
      out << "warning: could not write " << (options.out_dir / "results.json").string() << ": "
          << one_line_message(error) << std::endl;
    }
  };
  const auto worker = [&] {
    if (threads_per_run > 0) use_compute_threads(static_cast<int>(threads_per_run));
    for (std::size_t n = next_run++; n < order.size(); n = next_run++) {
      {
        const std::lock_guard<std::mutex> lock(mutex);
        if (ended) return;
      }
      run_one(order[n], nullptr);
    }
  };
  // Runs marked distributed first, one at a time with every process: rank 0 tells the
  // others which it fits (a finished one is skipped on --resume), then they fit it together.
  if (group) {
    for (const std::size_t i : mine) {
      if (!plan[i].distributed) continue;
      const bool fit_it = !final_record(options.out_dir / "runs" / plan[i].id, options.resume);
      const double what = interrupt_signal() != 0 ? kStopRun : fit_it ? kFitRun : kSkipRun;
      torch::Tensor decision = torch::full({1}, what, torch::kFloat64);
      try {
        group->sum(decision, "the start of " + plan[i].id);
      } catch (const std::exception&) {
        ended = std::current_exception();
        break;
      }
      if (what == kStopRun) {
        ended = std::make_exception_ptr(Interrupted("interrupted before " + plan[i].id, interrupt_signal()));
        break;
      }
      run_one(i, group.get());
      if (ended) break;
    }
    order.erase(std::remove_if(order.begin(), order.end(), [&](std::size_t i) { return plan[i].distributed; }),
                order.end());
  }
  if (ended) {
    // the experiment ends below
  } else if (options.jobs <= 1) {
    worker();
  } else {
    std::vector<std::thread> workers;
    for (int64_t j = 0; j < std::min<int64_t>(options.jobs, static_cast<int64_t>(order.size())); ++j)
      workers.emplace_back(worker);
    for (auto& w : workers) w.join();
  }
  if (ended) {
    if (options.shard) {
      try {
        write_shard_record(options.out_dir, *options.shard, my_ids, "stopped");
      } catch (const std::exception&) {
        // the shard's runs keep their checkpoints; the record is informative only
      }
    }
    try {
      std::rethrow_exception(ended);
    } catch (const Interrupted& interrupted) {
      throw Interrupted(std::string(interrupted.what()) + "; finished runs are kept, continue with: " +
                            resume_command(e, options.out_dir, options.shard),
                        interrupted.signal_number);
    } catch (const WriteError& error) {
      throw WriteError(std::string(error.what()) + " (finished runs are kept; free space, then: " +
                           resume_command(e, options.out_dir, options.shard) + ")",
                       error.error_number);
    }
  }
  const std::vector<RunRecord> results = collect();
  if (options.shard) {
    write_shard_record(options.out_dir, *options.shard, my_ids, "finished");
    const std::size_t finished = static_cast<std::size_t>(
        std::count_if(results.begin(), results.end(), [](const RunRecord& r) { return r.finished(); }));
    out << "shard " << options.shard->text() << ": " << finished << " of its " << results.size()
        << " runs finished. Once every shard has finished: ltrnn collect " << options.out_dir.string() << "\n";
    return results;
  }

  // 3-5. The comparison table, the analyses, results.json and the report.
  json extra = shared.notes;
  extra["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summarise_experiment(e, options.out_dir, resolved, results, extra, out);
  out << "wall time " << std::fixed << std::setprecision(1) << extra["wall_seconds"].get<double>() << std::defaultfloat
      << " s\n";
  return results;
}

CollectOutcome collect_experiment(const fs::path& out_dir, const std::optional<fs::path>& experiment_file,
                                  std::ostream& out) {
  const fs::path saved = out_dir / "experiment.json";
  if (!fs::exists(saved))
    throw InputError(out_dir.string() + ": no experiment.json; not the output directory of an `ltrnn run`");
  // Exclusive: refused while shards are still running (they hold it shared).
  const DirectoryLock lock(out_dir);
  if (!lock.takeover_note().empty()) out << lock.takeover_note() << "\n";
  fs::path source = experiment_file ? *experiment_file : fs::path();
  if (!experiment_file) {
    try {
      source = json::parse(read_file(saved)).at("source").get<std::string>();
    } catch (const json::exception& error) {
      throw InputError(saved.string() + ": no readable \"source\" (" + std::string(error.what()) +
                       "); pass --experiment");
    }
    if (!fs::exists(source))
      throw InputError(saved.string() + " names the experiment file " + source.string() +
                       ", which does not exist; pass --experiment EXP");
  }
  const Experiment e = load_experiment(source);
  const json resolved = resolved_json(e);
  check_output_directory(e, resolved, out_dir, true);
  const std::vector<PlannedRun> plan = plan_runs(e);
  const std::map<std::string, std::string> owners = run_owners(out_dir);
  CollectOutcome outcome;
  for (const PlannedRun& run : plan) {
    std::optional<RunRecord> record;
    try {
      record = read_run_record(out_dir / "runs" / run.id);
    } catch (const std::exception& error) {
      out << "warning: " << one_line_message(error) << "\n";
    }
    const auto owner = owners.find(run.id);
    const std::string owned_by =
        owner == owners.end() ? std::string("no shard has started it") : "shard " + owner->second;
    if (record) {
      record->id = run.id;
      outcome.runs.push_back(*record);
      // A run that failed for another reason than divergence is fitted again by --resume.
      if (record->outcome.status == RunStatus::Failed)
        outcome.missing.push_back(run.id + " (" + record->outcome.text() + "; " + owned_by + ")");
      continue;
    }
    outcome.missing.push_back(
        run.id + " (" + (owner == owners.end() ? std::string("no shard has started it") : "shard " + owner->second) +
        (fs::exists(out_dir / "runs" / run.id / "checkpoint.pt") ? ", has a checkpoint" : "") + ")");
  }
  out << "collected " << outcome.runs.size() << " of " << plan.size() << " runs from " << out_dir.string() << "\n";
  json extra = json::object();
  if (fs::exists(out_dir / "dataset_notes.json")) extra = json::parse(read_file(out_dir / "dataset_notes.json"));
  summarise_experiment(e, out_dir, resolved, outcome.runs, extra, out);
  if (!outcome.missing.empty()) {
    out << outcome.missing.size() << " run(s) missing or failed (results.json holds the others):\n";
    for (const std::string& line : outcome.missing) out << "  " << line << "\n";
    out << "re-run their shard with --resume (`ltrnn run EXP --out " << out_dir.string()
        << " --shard I/N --resume`), then collect again\n";
  }
  return outcome;
}

}  // namespace ltrnn
