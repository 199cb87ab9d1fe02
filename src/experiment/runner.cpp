// The experiment runner: dataset once, masks once, then each planned run.
#include "experiment/runner.h"

#include <torch/torch.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <iomanip>
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
  // and whether a report is written.
  for (json* document : {&previous, &current}) {
    document->erase("source");
    document->erase("description");
    if (document->contains("outputs")) (*document)["outputs"].erase("report");
  }
  if (previous != current)
    throw InputError(out_dir.string() + "/experiment.json differs from " + e.source.string() +
                     ": the experiment changed since it was started; use another --out");
}

namespace {

// A failure that ends the whole experiment rather than one run: an interrupt, or a disk
// that is full (every later run would fail the same way).
bool ends_the_experiment(const std::exception& error) {
  if (dynamic_cast<const Interrupted*>(&error)) return true;
  const auto* write = dynamic_cast<const WriteError*>(&error);
  return write && (write->error_number == ENOSPC || write->error_number == EDQUOT);
}

std::string resume_command(const Experiment& e, const fs::path& out_dir) {
  return "ltrnn run " + e.source.string() + " --out " + out_dir.string() + " --resume";
}

}  // namespace

std::vector<RunRecord> run_experiment(const Experiment& e, const RunnerOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PlannedRun> plan = plan_runs(e);
  const json resolved = resolved_json(e);
  const std::optional<DataSizes> planned_sizes = data_sizes_from_settings(e);
  if (planned_sizes) check_memory(plan, *planned_sizes, options.force);  // before anything is written
  // One process at a time in an output directory (created here, or already holding results).
  const bool existed = fs::exists(options.out_dir);
  try {
    fs::create_directories(options.out_dir);
  } catch (const fs::filesystem_error& error) {
    throw write_error(options.out_dir, error.code().value());
  }
  std::optional<DirectoryLock> lock;
  try {
    lock.emplace(options.out_dir);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    if (!existed) fs::remove_all(options.out_dir);
    throw;
  }
  if (!lock->takeover_note().empty()) out << lock->takeover_note() << "\n";
  if (const int removed = remove_temporary_files(options.out_dir))
    out << "note: removed " << removed << " temporary file(s) of writes a killed process did not finish\n";
  check_output_directory(e, resolved, options.out_dir, options.resume);
  out << format_plan(plan, planned_sizes) << std::flush;

  // 1. Data, preprocessing and the cross-validation mask: once, shared by every run.
  // Several jobs: each run single-threaded unless told otherwise, so the jobs do not
  // compete for cores; a run's numbers depend only on its own thread count.
  const int64_t threads_per_run = options.jobs > 1 && options.threads == 0 ? 1 : options.threads;
  if (threads_per_run > 0) use_compute_threads(static_cast<int>(threads_per_run));
  json dataset_notes = json::object();
  const Dataset raw = experiment_dataset(e, options.out_dir, out, dataset_notes);
  const Dataset dataset = preprocess(raw, e.preprocess);
  for (const auto& note : dataset.notes) out << "note: " << note << "\n";
  if (!planned_sizes) check_memory(plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()}, options.force);
  const Masks masks = without_missing(
      make_block_masks(dataset.n_bins(), dataset.n_trials(), dataset.n_neurons(), e.mask), dataset.missing);
  out << "data: " << dataset.n_bins() << " bins x " << dataset.n_trials() << " trials x " << dataset.n_neurons()
      << " neurons; " << masks.test.sum().item<int64_t>() << " test entries, " << masks.validation.sum().item<int64_t>()
      << " validation entries, " << masks.train.sum().item<int64_t>() << " training entries";
  if (dataset.missing.defined())
    out << "; " << dataset.missing.sum().item<int64_t>() << " missing entries (in neither)";
  out << std::endl;
  write_resolved_experiment(options.out_dir, e);
  write_npz(options.out_dir / "masks.npz",
            {{"train", to_npy(masks.train)}, {"validation", to_npy(masks.validation)}, {"test", to_npy(masks.test)}});

  // 2. Each run: reuse a finished one on resume; a failing run is recorded and the rest go
  //    on. One job takes the runs in plan order, several the longest first (plan.h);
  //    results are kept and written in plan order.
  std::vector<std::size_t> order(plan.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (options.jobs > 1) order = longest_runs_first(plan, {dataset.n_bins(), dataset.n_trials(), dataset.n_neurons()});
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
  const auto run_one = [&](std::size_t i) {
    const PlannedRun& run = plan[i];
    const fs::path run_dir = options.out_dir / "runs" / run.id;
    std::optional<RunRecord> record;
    try {
      record = options.resume ? read_run_record(run_dir) : std::nullopt;
    } catch (const std::exception& error) {
      record = std::nullopt;  // an unreadable summary.json: fit the run again
    }
    // A finished or diverged run is final; one that failed for another reason (an error,
    // a full disk) is tried again, continuing from its checkpoint.
    if (record && record->outcome.status == RunStatus::Failed) record = std::nullopt;
    if (record) {
      const std::lock_guard<std::mutex> lock(mutex);
      out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": already " << record->outcome.text()
          << std::endl;
    } else {
      try {
        TrainConfig train = run.train;
        train.threads = 0;  // set once above, not per run (runs may share the process)
        RunOptions run_options{options.progress && options.jobs == 1, options.resume, e.outputs.predictions,
                               e.outputs.factors, e.outputs.export_model};
        throw_if_interrupted("interrupted before " + run.id);
        record = execute_run(dataset, masks, run.model, train, run_dir, run_options);
        record->id = run.id;
      } catch (const std::exception& error) {
        if (ends_the_experiment(error)) {
          // The run keeps its checkpoint and no summary.json: --resume continues it.
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
    try {
      write_results(options.out_dir, resolved, collect());  // partial results survive a crash
    } catch (const std::exception& error) {
      out << "warning: could not write " << (options.out_dir / "results.json").string() << ": "
          << one_line_message(error) << std::endl;
    }
  };
  const auto worker = [&] {
    if (threads_per_run > 0) use_compute_threads(static_cast<int>(threads_per_run));
    for (std::size_t n = next_run++; n < plan.size(); n = next_run++) {
      {
        const std::lock_guard<std::mutex> lock(mutex);
        if (ended) return;
      }
      run_one(order[n]);
    }
  };
  if (options.jobs <= 1) {
    worker();
  } else {
    std::vector<std::thread> workers;
    for (int64_t j = 0; j < std::min<int64_t>(options.jobs, static_cast<int64_t>(plan.size())); ++j)
      workers.emplace_back(worker);
    for (auto& w : workers) w.join();
  }
  if (ended) {
    try {
      std::rethrow_exception(ended);
    } catch (const Interrupted& interrupted) {
      throw Interrupted(
          std::string(interrupted.what()) + "; checkpoints saved, continue with: " + resume_command(e, options.out_dir),
          interrupted.signal_number);
    } catch (const WriteError& error) {
      throw WriteError(std::string(error.what()) +
                           " (finished runs are kept; free space, then: " + resume_command(e, options.out_dir) + ")",
                       error.error_number);
    }
  }
  const std::vector<RunRecord> results = collect();

  // 3. The comparison table.
  const ComparisonTable table = compare_runs(results, entry_losses_in(options.out_dir));
  json extra = dataset_notes;
  out << "\n" << format_comparison(table);

  // 4. Analyses of the dataset and of the fits (experiment "analyses").
  const fs::path dataset_npz = e.dataset.file ? *e.dataset.file : options.out_dir / "dataset.npz";
  const json analyses = run_analyses(e, options.out_dir, dataset_npz, results, table.selected_rank, out);
  if (!analyses.empty()) extra["analyses"] = analyses;
  extra["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_results(options.out_dir, resolved, results, extra);
  out << "wall time " << std::fixed << std::setprecision(1) << extra["wall_seconds"].get<double>() << std::defaultfloat
      << " s; results in " << (options.out_dir / "results.json").string() << "\n";

  // 5. The report: charts of everything above, in one page.
  //    The results are saved already: a report that cannot be written is a warning.
  if (e.outputs.report) {
    out << "writing the report...\n" << std::flush;
    try {
      out << "report: " << write_report(options.out_dir).string() << "\n";
    } catch (const std::exception& error) {
      out << "warning: report.html not written: " << one_line_message(error)
          << " (the results are saved; `ltrnn report " << options.out_dir.string()
          << "` writes it once this is fixed)\n";
    }
  }
  return results;
}

}  // namespace ltrnn
