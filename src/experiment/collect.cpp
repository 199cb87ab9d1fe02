// The comparison, analyses, results files and report of an experiment's runs.
#include "experiment/collect.h"

#include "experiment/analyses.h"
#include "experiment/more_starts.h"
#include "experiment/output_directory.h"
#include "experiment/plan.h"
#include "experiment/shards.h"
#include "report/report.h"
#include "run/comparison.h"
#include "run/results.h"
#include "util/directory_lock.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_report_or_warn(const fs::path& out_dir, std::ostream& out) {
  out << "writing the report...\n" << std::flush;
  try {
    out << "report: " << write_report(out_dir).string() << "\n";
  } catch (const std::exception& error) {
    out << "warning: report.html not written: " << one_line_message(error) << " (the results are saved; `ltrnn report "
        << out_dir.string() << "` writes it once this is fixed)\n";
  }
}

// The experiment file an output directory was written from: `given`, else the "source" its
// experiment.json names.
fs::path experiment_source(const fs::path& saved, const std::optional<fs::path>& given) {
  if (given) return *given;
  fs::path source;
  try {
    source = json::parse(read_file(saved)).at("source").get<std::string>();
  } catch (const json::exception& error) {
    throw InputError(saved.string() + ": no readable \"source\" (" + std::string(error.what()) +
                     "); pass --experiment");
  }
  if (!fs::exists(source))
    throw InputError(saved.string() + " names the experiment file " + source.string() +
                     ", which does not exist; pass --experiment EXP");
  return source;
}

// A run's record from its directory, or nothing (a warning when it cannot be read).
std::optional<RunRecord> collected_record(const fs::path& run_dir, std::ostream& out) {
  try {
    return read_run_record(run_dir);
  } catch (const std::exception& error) {
    out << "warning: " << one_line_message(error) << "\n";
    return std::nullopt;
  }
}

void print_missing(const fs::path& out_dir, const std::vector<std::string>& missing, std::ostream& out) {
  if (missing.empty()) return;
  out << missing.size() << " run(s) missing or failed (results.json holds the others):\n";
  for (const std::string& line : missing) out << "  " << line << "\n";
  out << "re-run their shard with --resume (`ltrnn run EXP --out " << out_dir.string()
      << " --shard I/N --resume`), then collect again\n";
}

// The more starts the planned runs call for (more_starts.h), those fitted added to `runs`;
// they are optional here, as the ladder's starts are.
json collect_more_starts(const Experiment& e, const std::vector<PlannedRun>& plan, const fs::path& out_dir,
                         std::vector<RunRecord>& runs, std::ostream& out) {
  const MoreStarts more = plan_more_starts(e, plan, runs, entry_losses_in(out_dir));
  std::size_t not_fitted = 0;
  for (const PlannedRun& run : more.runs) {
    const fs::path run_dir = out_dir / "runs" / run.id;
    std::optional<RunRecord> record =
        fs::exists(run_dir / "summary.json") ? collected_record(run_dir, out) : std::nullopt;
    if (!record) {
      ++not_fitted;
      continue;
    }
    record->id = run.id;
    runs.push_back(*record);
  }
  out << format_more_starts(more);
  if (not_fitted > 0)
    out << not_fitted << " of the " << more.runs.size()
        << " more starts were not fitted (one process fits them: ltrnn run " << e.source.string() << " --out "
        << out_dir.string() << " --resume)\n";
  return more_starts_json(more);
}

}  // namespace

void summarise_experiment(const Experiment& e, const fs::path& out_dir, const json& resolved,
                          const std::vector<RunRecord>& results, json extra, std::ostream& out) {
  const ComparisonTable table = compare_runs(results, entry_losses_in(out_dir));
  out << "\n" << format_comparison(table) << format_discretisation(table);
  const fs::path dataset_npz = dataset_file(e) ? *dataset_file(e) : out_dir / "dataset.npz";
  const json analyses = run_analyses(e, out_dir, dataset_npz, results, table.selected_rank, out);
  if (!analyses.empty()) extra["analyses"] = analyses;
  write_results(out_dir, resolved, results, extra);
  out << "results in " << (out_dir / "results.json").string() << "\n";
  if (e.outputs.report) write_report_or_warn(out_dir, out);
}

CollectOutcome collect_experiment(const fs::path& out_dir, const std::optional<fs::path>& experiment_file,
                                  std::ostream& out) {
  const fs::path saved = out_dir / "experiment.json";
  if (!fs::exists(saved))
    throw InputError(out_dir.string() + ": no experiment.json; not the output directory of an `ltrnn run`");
  // Exclusive: refused while shards are still running (they hold it shared).
  const DirectoryLock lock(out_dir);
  if (!lock.takeover_note().empty()) out << lock.takeover_note() << "\n";
  const Experiment e = load_experiment(experiment_source(saved, experiment_file));
  const json resolved = resolved_json(e);
  check_output_directory(e, resolved, out_dir, true);
  const std::vector<PlannedRun> plan = plan_runs(e);
  const std::map<std::string, std::string> owners = run_owners(out_dir);
  CollectOutcome outcome;
  std::size_t ladder_not_fitted = 0;
  for (const PlannedRun& run : plan) {
    const fs::path run_dir = out_dir / "runs" / run.id;
    // Shards fit the seeds' runs only; the ladder's starts are optional here.
    if (run.laddered() && !fs::exists(run_dir / "summary.json")) {
      ++ladder_not_fitted;
      continue;
    }
    const auto owner = owners.find(run.id);
    const std::string owned_by =
        owner == owners.end() ? std::string("no shard has started it") : "shard " + owner->second;
    std::optional<RunRecord> record = collected_record(run_dir, out);
    if (!record) {
      outcome.missing.push_back(run.id + " (" + owned_by +
                                (fs::exists(run_dir / "checkpoint.pt") ? ", has a checkpoint" : "") + ")");
      continue;
    }
    record->id = run.id;
    outcome.runs.push_back(*record);
    // A run that failed for another reason than divergence is fitted again by --resume.
    if (record->outcome.status == RunStatus::Failed)
      outcome.missing.push_back(run.id + " (" + record->outcome.text() + "; " + owned_by + ")");
  }
  out << "collected " << outcome.runs.size() << " of " << plan.size() - ladder_not_fitted << " runs from "
      << out_dir.string() << "\n";
  if (ladder_not_fitted > 0)
    out << "the rank ladder's " << ladder_not_fitted
        << " starts were not fitted (shards fit the seeds' runs; one process fits the ladder: ltrnn run "
        << e.source.string() << " --out " << out_dir.string() << " --resume)\n";
  json extra = json::object();
  if (fs::exists(out_dir / "dataset_notes.json")) extra = json::parse(read_file(out_dir / "dataset_notes.json"));
  extra["more_starts"] = collect_more_starts(e, plan, out_dir, outcome.runs, out);
  summarise_experiment(e, out_dir, resolved, outcome.runs, extra, out);
  print_missing(out_dir, outcome.missing, out);
  return outcome;
}

}  // namespace ltrnn
