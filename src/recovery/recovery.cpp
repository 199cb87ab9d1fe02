// The panel fitted teacher by teacher, each through an experiment file like a user's.
#include "recovery/recovery.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "experiment/experiment.h"
#include "experiment/runner.h"
#include "report/charts.h"
#include "report/html.h"
#include "run/results.h"
#include "spec/experiment.h"
#include "util/blas.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/machine.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The experiment file of one teacher: the panel's ranks of the reference family at the
// teacher's hidden size, every other setting at its default (or options.train and
// options.model), no per-run outputs.
json teacher_experiment(const PanelTeacher& t, const RecoveryOptions& options) {
  json experiment{
      {"name", "recovery-" + t.name},
      {"description", "rank-recovery panel: planted rank " + std::to_string(t.teacher.rank) + ", " + t.varies},
      {"dataset", dataset_json(DatasetSpec{t.teacher})},
      {"seeds", options.seeds},
      {"runs", json::array({{{"model", enum_name(kReferenceFamily)},
                             {"ranks", "1-" + std::to_string(t.max_rank)},
                             {"hidden", t.teacher.hidden}}})},
      {"outputs", {{"predictions", false}, {"factors", false}, {"export", false}, {"report", false}}}};
  if (!options.train.empty()) experiment["train"] = options.train;
  if (!options.model.empty()) experiment["runs"][0]["overrides"] = options.model;
  return experiment;
}

json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot read");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw InputError(path.string() + ": not JSON (" + e.what() + ")");
  }
}

// The decision of a teacher's finished experiment, from its results.json and its runs'
// summary.json files (stop reason, fitted tau).
TeacherDecision read_decision(const PanelTeacher& t, const fs::path& dir) {
  const ResultsFile results = read_results(dir / "results.json");
  TeacherDecision d;
  d.teacher = t;
  d.true_tau = t.teacher.tau;
  d.fitted_tau = NAN;
  const auto selected = results.selected_rank.find(kReferenceFamily);
  if (selected != results.selected_rank.end()) d.selected_rank = selected->second;
  std::string best_of_selected;
  for (const ComparisonRow& row : results.summary)
    if (row.model == kReferenceFamily && row.rank == d.selected_rank) best_of_selected = row.best_id;
  for (const RunRecord& run : results.runs) {
    if (run.model != kReferenceFamily || !run.finished()) continue;
    const json summary = read_json_file(dir / "runs" / run.id / "summary.json");
    const std::string stop = summary.value("stop_reason", "");
    ++d.fits;
    d.converged += stop == "converged";
    d.at_cap += stop == "iterations";
    d.iterations += run.iterations;
    d.seconds += run.seconds;
    if (run.id == best_of_selected) d.fitted_tau = summary.value("tau", NAN);
  }
  return d;
}

TeacherDecision decide(const PanelTeacher& t, const RecoveryOptions& options) {
  const fs::path file = options.out_dir / (t.name + ".json");
  const json document = teacher_experiment(t, options);
  write_file_atomic(file, document.dump(2) + "\n");
  const Experiment experiment = parse_experiment(document, file);
  RunnerOptions runner;
  runner.out_dir = options.out_dir / t.name;
  runner.jobs = options.jobs;
  runner.threads = options.threads;
  runner.resume = true;  // a panel stopped half-way goes on where it stopped
  runner.progress = false;
  std::ostringstream log;
  run_experiment(experiment, runner, log);
  write_file_atomic(runner.out_dir / "run.log", log.str());
  return read_decision(t, runner.out_dir);
}

std::string fixed(double value, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << value;
  return s.str();
}

std::string decision_line(const TeacherDecision& d) {
  std::ostringstream s;
  s << std::left << std::setw(18) << d.teacher.name << std::right << std::setw(8) << d.teacher.teacher.rank
    << std::setw(9) << d.selected_rank << (d.exact() ? "   " : " x ") << std::setw(5) << d.converged << "/" << std::left
    << std::setw(5) << d.fits << std::right << std::setw(8) << fixed(d.seconds, 0) << std::setw(10)
    << (std::isfinite(d.fitted_tau) ? fixed(d.fitted_tau / d.true_tau, 2) : "-") << "  "
    << (d.teacher.in_class ? "" : "(out of class) ") << d.teacher.varies;
  return s.str();
}

// Every cell of the confusion matrix, zeros included, so that the chart's grid is whole.
json confusion_rows(const RecoverySummary& s) {
  json rows = json::array();
  for (int64_t planted = 1; planted <= s.max_true_rank; ++planted)
    for (int64_t selected = 0; selected <= s.max_selected; ++selected)
      rows.push_back({{"planted", planted}, {"selected", selected}, {"count", s.confusion[planted - 1][selected]}});
  return rows;
}

}  // namespace

std::string recovery_page_html(const RecoverySummary& s) {
  ReportSection section{
      "Decisions", "<pre>" + html_escape(format_recovery(s)) + "</pre>", {confusion_matrix_chart(confusion_rows(s))}};
  const std::string lead =
      "Each teacher's experiment selected a rank by the one-standard-error rule; the planted "
      "rank is the truth (docs/recovery.md). Machine: " +
      cpu_model() + ", " + blas_description() + ".";
  return render_report_html(ReportPage{"Rank recovery", "<p>" + html_escape(lead) + "</p>", {section}});
}

RecoverySummary summarise_recovery(std::vector<TeacherDecision> decisions) {
  RecoverySummary s;
  s.decisions = std::move(decisions);
  for (const TeacherDecision& d : s.decisions) {
    s.max_true_rank = std::max(s.max_true_rank, d.teacher.teacher.rank);
    s.max_selected = std::max(s.max_selected, std::max(d.selected_rank, d.teacher.max_rank));
  }
  s.confusion.assign(s.max_true_rank, std::vector<int64_t>(s.max_selected + 1, 0));
  int64_t exact = 0, fits = 0, converged = 0, iterations = 0;
  double seconds = 0;
  for (const TeacherDecision& d : s.decisions) {
    ++s.confusion[d.teacher.teacher.rank - 1][d.selected_rank];
    exact += d.exact();
    s.over_by_more_than_one += d.selected_rank > d.teacher.teacher.rank + 1;
    fits += d.fits;
    converged += d.converged;
    iterations += d.iterations;
    seconds += d.seconds;
    if (d.teacher.in_class && std::isfinite(d.fitted_tau)) {
      ++s.tau_in_class;
      const double ratio = d.fitted_tau / d.true_tau;
      s.tau_within_factor_two += ratio >= 0.5 && ratio <= 2.0;
    }
  }
  const double n = static_cast<double>(s.decisions.size());
  s.exact_rate = n > 0 ? exact / n : 0;
  s.converged_fraction = fits > 0 ? static_cast<double>(converged) / fits : 0;
  s.mean_iterations = fits > 0 ? static_cast<double>(iterations) / fits : 0;
  s.mean_seconds = n > 0 ? seconds / n : 0;
  return s;
}

RecoverySummary run_recovery(const std::vector<PanelTeacher>& panel, const RecoveryOptions& options,
                             std::ostream& out) {
  if (panel.empty()) throw InputError("the recovery panel holds no teacher");
  fs::create_directories(options.out_dir);
  std::vector<TeacherDecision> decisions;
  for (std::size_t i = 0; i < panel.size(); ++i) {
    decisions.push_back(decide(panel[i], options));
    if (options.progress)
      out << "[" << i + 1 << "/" << panel.size() << "] " << decision_line(decisions.back()) << std::endl;
  }
  RecoverySummary summary = summarise_recovery(std::move(decisions));
  write_file_atomic(options.out_dir / "recovery.json", recovery_json(summary, options).dump(2) + "\n");
  write_file_atomic(options.out_dir / "recovery.html", recovery_page_html(summary));
  return summary;
}

json recovery_json(const RecoverySummary& s, const RecoveryOptions& options) {
  json decisions = json::array();
  for (const TeacherDecision& d : s.decisions)
    decisions.push_back({{"teacher", d.teacher.name},
                         {"varies", d.teacher.varies},
                         {"in_class", d.teacher.in_class},
                         {"parameters", dataset_json(DatasetSpec{d.teacher.teacher})["parameters"]},
                         {"ranks_fitted", "1-" + std::to_string(d.teacher.max_rank)},
                         {"planted_rank", d.teacher.teacher.rank},
                         {"selected_rank", d.selected_rank},
                         {"fits", d.fits},
                         {"converged", d.converged},
                         {"at_cap", d.at_cap},
                         {"iterations", d.iterations},
                         {"seconds", d.seconds},
                         {"true_tau", d.true_tau},
                         {"fitted_tau", std::isfinite(d.fitted_tau) ? json(d.fitted_tau) : json(nullptr)}});
  return json{{"machine", {{"cpu", cpu_model()}, {"blas", blas_description()}, {"blas_core", blas_core()}}},
              {"seeds", options.seeds},
              {"jobs", options.jobs},
              {"threads", options.threads},
              {"train", options.train},
              {"decisions", decisions},
              {"confusion",
               {{"rows", "planted rank 1.." + std::to_string(s.max_true_rank)},
                {"columns", "selected rank 0.." + std::to_string(s.max_selected) + " (0: none)"},
                {"counts", s.confusion}}},
              {"exact_recovery_rate", s.exact_rate},
              {"over_selected_by_more_than_one", s.over_by_more_than_one},
              {"converged_fraction", s.converged_fraction},
              {"mean_seconds_per_decision", s.mean_seconds},
              {"mean_iterations_per_fit", s.mean_iterations},
              {"tau_within_factor_two", s.tau_within_factor_two},
              {"tau_in_class_teachers", s.tau_in_class}};
}

std::string format_recovery(const RecoverySummary& s) {
  std::ostringstream out;
  out << std::left << std::setw(18) << "teacher" << std::right << std::setw(8) << "planted" << std::setw(9)
      << "selected"
      << "   " << std::setw(11) << "converged" << std::setw(8) << "seconds" << std::setw(10) << "tau/true"
      << "  varies\n";
  for (const TeacherDecision& d : s.decisions) out << decision_line(d) << "\n";
  out << "\nconfusion (rows: planted rank; columns: selected rank, 0 = none)\n      ";
  for (int64_t c = 0; c <= s.max_selected; ++c) out << std::setw(5) << c;
  out << "\n";
  for (int64_t r = 0; r < s.max_true_rank; ++r) {
    out << "  " << std::setw(4) << r + 1;
    for (int64_t count : s.confusion[r]) out << std::setw(5) << count;
    out << "\n";
  }
  out << "\nexact recovery " << fixed(100 * s.exact_rate, 0) << "% of " << s.decisions.size() << " teachers; "
      << s.over_by_more_than_one << " over-selected by more than one; fits converged "
      << fixed(100 * s.converged_fraction, 0) << "%, " << fixed(s.mean_iterations, 0) << " iterations per fit; "
      << fixed(s.mean_seconds, 0) << " s of fitting per decision; tau within a factor 2 on " << s.tau_within_factor_two
      << " of " << s.tau_in_class << " in-class teachers\n";
  return out.str();
}

}  // namespace ltrnn
