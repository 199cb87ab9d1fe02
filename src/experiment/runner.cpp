// The experiment runner: dataset once, masks once, then each planned run.
#include "experiment/runner.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/dataset.h"
#include "data/masks.h"
#include "experiment/analyses.h"
#include "report/report.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "util/errors.h"
#include "util/blas.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

SummaryTable summarise(const std::vector<RunSummary>& runs) {
  SummaryTable table;
  // 1. Group by (family, rank) in first-appearance order.
  std::vector<std::pair<std::string, int64_t>> keys;
  std::map<std::pair<std::string, int64_t>, std::vector<const RunSummary*>> groups;
  for (const auto& run : runs) {
    const auto key = std::make_pair(run.model, run.rank);
    if (!groups.count(key)) keys.push_back(key);
    groups[key].push_back(&run);
  }
  // 2. Mean, std (n - 1) and standard error of test nMSE over finished seeds.
  for (const auto& key : keys) {
    SummaryRow row;
    row.model = key.first;
    row.rank = key.second;
    std::vector<double> values;
    double test_variance = 0;  // mean of the runs' squared test-set standard errors
    for (const RunSummary* run : groups[key]) {
      ++row.planned;
      if (run->status != "finished") continue;
      values.push_back(run->test_nmse);
      test_variance += run->test_nmse_se * run->test_nmse_se;
    }
    row.finished = static_cast<int64_t>(values.size());
    if (!values.empty()) {
      for (double v : values) row.mean_nmse += v / values.size();
      double sq = 0;
      for (double v : values) sq += (v - row.mean_nmse) * (v - row.mean_nmse);
      row.std_nmse = values.size() > 1 ? std::sqrt(sq / (values.size() - 1)) : 0.0;
      test_variance /= values.size();
      row.sem_nmse = std::sqrt(row.std_nmse * row.std_nmse / values.size() + test_variance);
    }
    table.rows.push_back(row);
  }
  // 3. One-standard-error rule per ranked family.
  std::map<std::string, std::vector<const SummaryRow*>> by_family;
  for (const auto& row : table.rows)
    if (row.rank > 0 && row.finished > 0) by_family[row.model].push_back(&row);
  for (auto& [family, rows] : by_family) {
    const SummaryRow* best = *std::min_element(rows.begin(), rows.end(),
                                               [](auto* a, auto* b) { return a->mean_nmse < b->mean_nmse; });
    int64_t selected = best->rank;
    for (const SummaryRow* row : rows)
      if (row->mean_nmse <= best->mean_nmse + best->sem_nmse) selected = std::min(selected, row->rank);
    table.selected_rank[family] = selected;
  }
  return table;
}

std::string format_summary(const SummaryTable& table) {
  std::ostringstream out;
  out << std::left << std::setw(14) << "model" << std::setw(6) << "rank" << std::setw(10) << "runs" << std::right
      << std::setw(13) << "test nMSE" << std::setw(12) << "std" << std::setw(12) << "s.e." << "\n";
  for (const auto& row : table.rows) {
    const bool selected = row.rank > 0 && table.selected_rank.count(row.model) &&
                          table.selected_rank.at(row.model) == row.rank;
    std::ostringstream runs;
    runs << row.finished << "/" << row.planned;
    out << std::left << std::setw(14) << row.model << std::setw(6) << (row.rank > 0 ? std::to_string(row.rank) : "-")
        << std::setw(10) << runs.str() << std::right << std::scientific << std::setprecision(3) << std::setw(13)
        << row.mean_nmse << std::setw(12) << row.std_nmse << std::setw(12) << row.sem_nmse << std::defaultfloat << (selected ? "   <- selected" : "")
        << "\n";
  }
  for (const auto& [family, rank] : table.selected_rank)
    out << "selected rank for " << family << ": " << rank
        << " (smallest rank within one standard error of the best mean test nMSE)\n";
  return out.str();
}

std::string format_plan(const std::vector<PlannedRun>& plan) {
  std::ostringstream out;
  out << "plan: " << plan.size() << " run" << (plan.size() == 1 ? "" : "s") << "\n";
  for (std::size_t i = 0; i < plan.size(); ++i)
    out << "  " << std::setw(3) << i + 1 << ". " << plan[i].id << "  (" << plan[i].train.iterations
        << " iterations max)\n";
  return out.str();
}

namespace {

// The dataset of the experiment: loaded, or generated (and saved, so it can be opened);
// what a generator reports about itself goes to `out` and into `notes`.
Dataset experiment_dataset(const Experiment& e, const fs::path& out_dir, std::ostream& out, json& notes) {
  if (e.dataset.file) {
    Dataset ds = load_dataset(*e.dataset.file);
    return ds;
  }
  if (e.dataset.reach) {
    out << "simulating the reach task (pre-training, then the BL/AD/WO session)...\n" << std::flush;
    const ReachData reach = simulate_reach(*e.dataset.reach, [&](const std::string& line) {
      out << "  " << line << "\n" << std::flush;
    });
    write_npz(out_dir / "dataset.npz", reach_arrays(reach));
    out << "pre-training: RMS position error " << reach.pretrain_error << ", endpoint error "
        << reach.pretrain_endpoint_error << "\n" << format_learning_curve(reach.curve) << "\n";
    const LearningCurve& c = reach.curve;
    notes["reach"] = {{"pretrain_rms_error", reach.pretrain_error},
                      {"pretrain_endpoint_error", reach.pretrain_endpoint_error},
                      {"lateral_deviation", {{"window", c.window}, {"baseline_late", c.baseline_late},
                                             {"field_early", c.field_early}, {"field_late", c.field_late},
                                             {"washout_early", c.washout_early}, {"washout_late", c.washout_late}}}};
    return reach.dataset;
  }
  const TeacherData teacher = simulate_teacher(*e.dataset.teacher);
  write_npz(out_dir / "dataset.npz", teacher_arrays(teacher));
  return teacher.dataset;
}

void check_output_directory(const Experiment& e, const json& resolved, const RunnerOptions& options) {
  const fs::path saved = options.out_dir / "experiment.json";
  if (!fs::exists(saved)) return;
  if (!options.resume)
    throw InputError(options.out_dir.string() + " already holds an experiment's results; pass --resume to continue it "
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
    throw InputError(options.out_dir.string() + "/experiment.json differs from " + e.source.string() +
                     ": the experiment changed since it was started; use another --out");
}

}  // namespace

std::vector<RunSummary> run_experiment(const Experiment& e, const RunnerOptions& options, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PlannedRun> plan = plan_runs(e);
  const json resolved = resolved_json(e);
  check_output_directory(e, resolved, options);
  out << format_plan(plan) << std::flush;

  // 1. Data, preprocessing and the cross-validation mask: once, shared by every run.
  fs::create_directories(options.out_dir);
  // Several jobs: each run single-threaded unless told otherwise, so the jobs do not
  // compete for cores; a run's numbers depend only on its own thread count.
  const int64_t threads_per_run = options.jobs > 1 && options.threads == 0 ? 1 : options.threads;
  if (threads_per_run > 0) {
    torch::set_num_threads(static_cast<int>(threads_per_run));
    set_blas_threads(static_cast<int>(threads_per_run));  // OpenBLAS's pool is process-wide
  }
  json dataset_notes = json::object();
  const Dataset raw = experiment_dataset(e, options.out_dir, out, dataset_notes);
  for (const auto& note : raw.notes) out << "note: " << note << "\n";
  const Dataset dataset = preprocess(raw, e.preprocess);
  const Masks masks = make_block_masks(dataset.n_bins(), dataset.n_trials(), dataset.n_neurons(), e.mask);
  out << "data: " << dataset.n_bins() << " bins x " << dataset.n_trials() << " trials x " << dataset.n_neurons()
      << " neurons; " << masks.test.sum().item<int64_t>() << " test entries, " << masks.train.sum().item<int64_t>()
      << " training entries" << std::endl;
  write_file_atomic(options.out_dir / "experiment.json", resolved.dump(2) + "\n");
  write_npz(options.out_dir / "masks.npz", {{"train", to_npy(masks.train)}, {"test", to_npy(masks.test)}});

  // 2. Each run: reuse a finished one on resume; a failing run is recorded and the rest go
  //    on. Workers take runs in plan order; results are kept and written in plan order.
  std::vector<std::optional<RunSummary>> slots(plan.size());
  std::mutex mutex;  // guards slots, `out` and the results files
  std::atomic<std::size_t> next_run{0};
  const auto collect = [&] {
    std::vector<RunSummary> done;
    for (const auto& slot : slots)
      if (slot) done.push_back(*slot);
    return done;
  };
  const auto run_one = [&](std::size_t i) {
    const PlannedRun& run = plan[i];
    const fs::path run_dir = options.out_dir / "runs" / run.id;
    std::optional<RunSummary> summary;
    try {
      summary = options.resume ? read_run_summary(run_dir) : std::nullopt;
    } catch (const std::exception& error) {
      summary = std::nullopt;  // an unreadable summary: fit the run again
    }
    // A finished or diverged run is final; one that failed for another reason (an error,
    // a full disk) is tried again, continuing from its checkpoint.
    if (summary && summary->status != "finished" && summary->status.rfind("failed: diverged", 0) != 0)
      summary = std::nullopt;
    if (summary) {
      const std::lock_guard<std::mutex> lock(mutex);
      out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": already " << summary->status << std::endl;
    } else {
      try {
        TrainConfig train = run.train;
        train.threads = 0;  // set once above, not per run (runs may share the process)
        RunOptions run_options{options.progress && options.jobs == 1, options.resume, e.outputs.predictions,
                               e.outputs.factors, e.outputs.export_model};
        summary = execute_run(dataset, masks, run.model, train, run_dir, run_options);
        summary->id = run.id;
      } catch (const std::exception& error) {
        summary = RunSummary{};
        summary->id = run.id;
        summary->model = to_string(run.model.kind);
        summary->rank = has_rank(run.model.kind) ? run.model.rank : 0;
        summary->hidden = run.model.hidden;
        summary->seed = run.train.seed;
        summary->status = std::string("failed: ") + error.what();
        try {
          fs::create_directories(run_dir);
          write_file_atomic(run_dir / "summary.json", json{{"summary", *summary}}.dump(2) + "\n");
        } catch (const std::exception&) {
          // the failure is still reported in results.json
        }
      }
      const std::lock_guard<std::mutex> lock(mutex);
      out << "[" << i + 1 << "/" << plan.size() << "] " << run.id << ": " << summary->status << ", test nMSE "
          << summary->test_nmse << " (" << summary->iterations << " iterations, " << std::fixed
          << std::setprecision(1) << summary->seconds << " s)" << std::defaultfloat << std::setprecision(6) << std::endl;
    }
    const std::lock_guard<std::mutex> lock(mutex);
    slots[i] = summary;
    try {
      write_results(options.out_dir, resolved, collect());  // partial results survive a crash
    } catch (const std::exception& error) {
      out << "warning: could not write " << (options.out_dir / "results.json").string() << ": " << error.what()
          << std::endl;
    }
  };
  const auto worker = [&] {
    if (threads_per_run > 0) {
    torch::set_num_threads(static_cast<int>(threads_per_run));
    set_blas_threads(static_cast<int>(threads_per_run));  // OpenBLAS's pool is process-wide
  }
    for (std::size_t i = next_run++; i < plan.size(); i = next_run++) run_one(i);
  };
  if (options.jobs <= 1) {
    worker();
  } else {
    std::vector<std::thread> workers;
    for (int64_t j = 0; j < std::min<int64_t>(options.jobs, static_cast<int64_t>(plan.size())); ++j)
      workers.emplace_back(worker);
    for (auto& w : workers) w.join();
  }
  const std::vector<RunSummary> results = collect();

  // 3. The comparison table.
  const SummaryTable table = summarise(results);
  json summary_json = json::array();
  for (const auto& row : table.rows)
    summary_json.push_back({{"model", row.model}, {"rank", row.rank}, {"finished", row.finished},
                            {"planned", row.planned}, {"mean_test_nmse", row.mean_nmse},
                            {"std_test_nmse", row.std_nmse}, {"se_test_nmse", row.sem_nmse}});
  json extra{{"summary", summary_json}, {"selected_rank", table.selected_rank}};
  extra.update(dataset_notes);
  out << "\n" << format_summary(table);

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
      out << "warning: report.html not written: " << error.what() << " (the results are saved; `ltrnn report "
          << options.out_dir.string() << "` writes it once this is fixed)\n";
    }
  }
  return results;
}

}  // namespace ltrnn
