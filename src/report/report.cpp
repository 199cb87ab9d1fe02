// report.html from an output directory (see report.h): reads the saved results, rebuilds
// each family's selected fit from its checkpoint (fit_section.h), and turns both into
// charts (charts.h).
#include "report/report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "report/charts.h"
#include "report/fit_section.h"
#include "report/report_data.h"
#include "report/sweep.h"
#include "run/comparison.h"
#include "run/results.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& path) {
  if (!fs::exists(path))
    throw InputError(path.string() + ": not found; " + path.parent_path().string() +
                     " is not the output directory of a finished `ltrnn run`");
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& error) {
    throw InputError(path.string() + ": not valid JSON (" + error.what() + ")");
  }
}

// The families of the runs, in order of first appearance.
std::vector<ModelKind> families_of(const std::vector<RunRecord>& runs) {
  std::vector<ModelKind> families;
  for (const RunRecord& run : runs)
    if (std::find(families.begin(), families.end(), run.model) == families.end()) families.push_back(run.model);
  return families;
}

std::vector<std::string> family_names(const std::vector<ModelKind>& families) {
  std::vector<std::string> names;
  for (const ModelKind family : families) names.push_back(to_string(family));
  return names;
}

// Per family, its best finished run at the selected rank (or over all runs without one).
std::vector<SelectedFit> selected_fits(const ResultsFile& results) {
  std::vector<SelectedFit> fits;
  for (const ModelKind family : families_of(results.runs)) {
    const auto selected = results.selected_rank.find(family);
    const RunRecord* best = best_finished_run(results.runs, [&](const RunRecord& r) {
      return r.model == family && (selected == results.selected_rank.end() || r.rank == selected->second);
    });
    if (!best) continue;
    const std::string start = best->start == RunStart::Seed
                                  ? "seed " + std::to_string(best->seed)
                                  : "ladder " + enum_name(best->start) + " from " + best->start_from;
    fits.push_back(SelectedFit{to_string(family), best->id, best->rank, start, best->test_nmse});
  }
  return fits;
}

// ---------------------------------------------------------------------------------------
// The experiment: prose and tables.

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::ostringstream out;
  out << "<table>\n";
  for (const auto& [key, value] : rows) out << "<tr><th>" << html_escape(key) << "</th><td>" << value << "</td></tr>\n";
  out << "</table>\n";
  return out.str();
}

std::string dataset_description(const Experiment& experiment) {
  const json dataset = dataset_json(experiment.dataset);
  std::string source;
  if (const fs::path* file = dataset_file(experiment)) {
    source = "file " + html_escape(file->string());
  } else if (const auto* nwb = std::get_if<NwbImportOptions>(&experiment.dataset)) {
    source = "NWB recording " + html_escape(nwb->file.string()) + " (aligned to " + html_escape(nwb->align) +
             ", bins of " + number(nwb->bin_width) + " s; binned copy: dataset.npz)";
  } else if (const auto* sessions = std::get_if<DatasetSessions>(&experiment.dataset)) {
    source = std::to_string(sessions->sessions.size()) + " recording sessions, each preprocessed alone, side by side " +
             "in dataset.npz (" + std::to_string(sessions->gap_trials) + " unrecorded trials between sessions)";
  } else {
    source = "generator <b>" + html_escape(dataset.value("generator", "")) + "</b>";
  }
  if (dataset.contains("parameters")) {
    std::string parameters;
    for (const auto& [key, value] : dataset.at("parameters").items())
      parameters += (parameters.empty() ? "" : ", ") + key + " " + value.dump();
    source += " (" + html_escape(parameters) + ")";
  }
  return source;
}

std::string shape_description(const DatasetView& view) {
  if (!view.loaded) return html_escape(view.note);
  const Dataset& d = view.data;
  std::ostringstream out;
  out << d.n_bins() << " time bins × " << d.n_trials() << " trials × " << d.n_neurons() << " neurons; "
      << d.n_conditions() << " condition" << (d.n_conditions() == 1 ? "" : "s") << "; epochs";
  const std::vector<int64_t> epoch = int64s(d.epoch);
  for (std::size_t e = 0; e < d.epoch_labels.size(); ++e)
    out << (e ? ", " : " ") << html_escape(d.epoch_labels[e]) << " ("
        << std::count(epoch.begin(), epoch.end(), static_cast<int64_t>(e)) << " trials)";
  return out.str();
}

std::string runs_table(const std::vector<RunRecord>& runs, const std::vector<SelectedFit>& fits) {
  // Validation and count-data columns only when some run has them.
  const bool validated = std::any_of(runs.begin(), runs.end(), [](const RunRecord& r) { return r.validated(); });
  const bool counts =
      std::any_of(runs.begin(), runs.end(), [](const RunRecord& r) { return std::isfinite(r.test_bits_per_spike); });
  std::ostringstream out;
  out << "<table>\n<tr><th>run</th><th>model</th><th>rank</th><th>hidden N</th><th>seed</th><th>parameters</th>"
         "<th>iterations</th><th>seconds</th>"
      << (validated ? "<th>validation loss</th>" : "") << "<th>test NMSE</th><th>test R²</th>"
      << (counts ? "<th>test bits/spike</th><th>deviance explained</th>" : "") << "<th>status</th></tr>\n";
  for (const RunRecord& run : runs) {
    const bool selected = std::any_of(fits.begin(), fits.end(), [&](const SelectedFit& f) { return f.id == run.id; });
    out << "<tr" << (selected ? " class=\"selected\"" : "") << "><td>" << html_escape(run.id) << "</td><td>"
        << html_escape(to_string(run.model)) << "</td><td class=\"num\">"
        << (run.rank > 0 ? std::to_string(run.rank) : "–") << "</td><td class=\"num\">" << run.hidden
        << "</td><td class=\"num\">" << (run.start == RunStart::Seed ? std::to_string(run.seed) : enum_name(run.start))
        << "</td><td class=\"num\">" << run.n_params << "</td><td class=\"num\">" << run.iterations
        << "</td><td class=\"num\">" << number(run.seconds, 3) << "</td>";
    if (validated) out << "<td class=\"num\">" << number(run.validation_loss, 4) << "</td>";
    out << "<td class=\"num\">" << number(run.test_nmse, 4) << "</td><td class=\"num\">" << number(run.test_r2, 4)
        << "</td>";
    if (counts)
      out << "<td class=\"num\">" << number(run.test_bits_per_spike, 4) << "</td><td class=\"num\">"
          << number(run.test_deviance_explained, 4) << "</td>";
    out << "<td>" << html_escape(run.outcome.text()) << "</td></tr>\n";
  }
  out << "</table>\n<p class=\"note\">Highlighted: the fit of each family shown below (the selected rank's best "
         "seed).</p>\n";
  return out.str();
}

// The highlighted fits' scores in each recording session (a dataset of several sessions).
std::string session_scores_table(const std::vector<RunRecord>& runs, const std::vector<SelectedFit>& fits) {
  std::ostringstream out;
  for (const RunRecord& run : runs) {
    const bool selected = std::any_of(fits.begin(), fits.end(), [&](const SelectedFit& f) { return f.id == run.id; });
    if (!selected || run.sessions.empty()) continue;
    out << "<p>" << html_escape(run.id) << " in each recording session (its trials and neurons alone):</p>\n"
        << "<table>\n<tr><th>session</th><th>validation loss</th><th>test NMSE</th><th>test R²</th>"
        << "<th>test bits/spike</th></tr>\n";
    for (const SessionScores& s : run.sessions)
      out << "<tr><td>" << html_escape(s.session) << "</td><td class=\"num\">" << number(s.validation_loss, 4)
          << "</td><td class=\"num\">" << number(s.test_nmse, 4) << "</td><td class=\"num\">" << number(s.test_r2, 4)
          << "</td><td class=\"num\">" << number(s.test_bits_per_spike, 4) << "</td></tr>\n";
    out << "</table>\n";
  }
  return out.str();
}

// The mask's kind and sizes, as the Experiment table states them.
std::string cross_validation_description(const MaskConfig& mask) {
  const std::string seed = " (mask seed " + std::to_string(mask.seed) + ")";
  if (mask.held_out_neurons > 0)
    return "held-out neurons (co-smoothing): " + number(mask.held_out_neurons * 100) + "% of the neurons held out on " +
           number(mask.test_fraction * 100) + "% of the trials for testing, " + number(mask.validation_fraction * 100) +
           "% for validation, predicted from the other neurons" + seed;
  return "block mask, " + number(mask.test_fraction * 100) + "% of entries held out for testing, " +
         number(mask.validation_fraction * 100) + "% for validation" + seed;
}

ReportSection experiment_section(const Experiment& experiment, const ResultsFile& results, const DatasetView& view,
                                 const std::vector<SelectedFit>& fits) {
  int64_t finished = 0, failed = 0;
  double fit_seconds = 0;
  for (const RunRecord& run : results.runs) {
    if (run.finished())
      ++finished;
    else
      ++failed;
    if (std::isfinite(run.seconds)) fit_seconds += run.seconds;
  }
  std::string seeds;
  for (const int64_t seed : experiment.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
  const MaskConfig& mask = experiment.mask;
  const PreprocessConfig& preprocess = experiment.preprocess;
  std::string preprocessing;
  if (preprocess.smooth_sigma > 0) preprocessing = "Gaussian smoothing, σ " + number(preprocess.smooth_sigma) + " bins";
  if (preprocess.zscore) preprocessing += std::string(preprocessing.empty() ? "" : "; ") + "z-scored per neuron";
  const json& document = results.document;
  const std::string wall =
      document.contains("wall_seconds") && document["wall_seconds"].is_number()
          ? fixed(document["wall_seconds"].get<double>(), 1) + " s (whole `ltrnn run`, last invocation)"
          : "not recorded";
  ReportSection section;
  section.heading = "Experiment";
  section.html =
      key_value_table({{"experiment file", html_escape(experiment.source.string())},
                       {"dataset", dataset_description(experiment)},
                       {"data", shape_description(view)},
                       {"preprocessing", preprocessing.empty() ? "none" : html_escape(preprocessing)},
                       {"cross-validation", cross_validation_description(mask)},
                       {"scored bins", mask.fit_preparatory ? "every bin, the preparatory period (t < 0) included"
                                                            : "t ≥ 0 only: the preparatory period is in no set "
                                                              "(fit_preparatory false)"},
                       {"seeds", html_escape(seeds)},
                       {"plan", std::to_string(results.runs.size()) + " runs: " + std::to_string(finished) +
                                    " finished, " + std::to_string(failed) + " not finished"},
                       {"fitting time", fixed(fit_seconds, 1) + " s (sum over runs)"},
                       {"wall time", html_escape(wall)}}) +
      runs_table(results.runs, fits) + session_scores_table(results.runs, fits);
  return section;
}

// The lead paragraph: which rank was selected for each family, and why.
std::string selection_html(const ResultsFile& results, const ComparisonTable& table) {
  std::ostringstream out;
  std::map<ModelKind, std::vector<const ComparisonRow*>> rows;
  for (const ComparisonRow& row : table.rows)
    if (row.rank > 0 && row.finished > 0) rows[row.model].push_back(&row);
  for (const auto& [family, rank] : results.selected_rank) {
    const auto& family_rows = rows[family];
    const auto chosen = std::find_if(family_rows.begin(), family_rows.end(),
                                     [&, rank = rank](const ComparisonRow* r) { return r->rank == rank; });
    if (chosen == family_rows.end()) continue;
    const ComparisonRow* best =
        *std::min_element(family_rows.begin(), family_rows.end(),
                          [](const ComparisonRow* a, const ComparisonRow* b) { return a->score < b->score; });
    out << "<p class=\"selection\"><b>" << html_escape(to_string(family)) << ": rank " << rank
        << " selected.</b> It is the "
        << "smallest rank whose " << basis_description(table.basis) << " (" << number((*chosen)->score)
        << ") is within one standard error of the best (rank " << best->rank << ": " << number(best->score);
    if (table.basis != SelectionBasis::Validation)
      out << " ± " << number(best->score_se) << ")";
    else
      out << "; the standard error of their difference, over the same validation blocks and over seeds, is "
          << number((*chosen)->difference_se) << ")";
    out << "; larger ranks do not predict held-out activity reliably better.";
    if (table.basis == SelectionBasis::Validation) {
      int64_t stalled = 0;
      for (const ComparisonRow* row : family_rows) stalled += row->stalled;
      out << " Ranks are compared on validation entries; the test entries are only reported (test NMSE of the "
          << "selected fit: " << number((*chosen)->best_test_nmse, 4);
      if (std::isfinite((*chosen)->best_test_bits_per_spike))
        out << ", test bits/spike: " << number((*chosen)->best_test_bits_per_spike, 4);
      out << "). " << stalled << " seed" << (stalled == 1 ? "" : "s")
          << " stalled (validation loss more than five standard errors above their rank's best seed).";
    }
    const auto check = table.discretisation.find(family);
    if (check != table.discretisation.end()) {
      const DiscretisationCheck& c = check->second;
      out << " With the ODE substeps doubled, the validation loss of the selected fit changes by "
          << number(c.selected_change) << " and that of rank " << c.competitor_rank << "'s best by "
          << number(c.competitor_change) << ": "
          << (c.flagged() ? "<b>more than the " + number(c.deciding_se) +
                                " standard error that decided between them; the integrator's error may decide the "
                                "rank</b> (try more substeps)."
                          : "within the " + number(c.deciding_se) + " standard error that decided between them.");
    }
    out << "</p>\n";
  }
  if (const RunRecord* best = best_finished_run(results.runs))
    out << "<p>Best run on the " << (best->validated() ? "validation loss" : "test NMSE") << ": <b>"
        << html_escape(best->id) << "</b> (test NMSE " << number(best->test_nmse, 4) << ").</p>\n";
  return out.str();
}

// ---------------------------------------------------------------------------------------
// Reach data and analyses.

std::optional<ReportSection> reach_section(const DatasetView& view) {
  if (!view.loaded || !view.reach.count("hand") || !view.reach.count("lateral_deviation")) return std::nullopt;
  const NpyArray& hand = view.reach.at("hand");
  const int64_t T = view.data.n_bins(), K = view.data.n_trials();
  if (hand.shape != std::vector<int64_t>{T, K, 2} || view.reach.at("lateral_deviation").numel() != K)
    return std::nullopt;
  const std::vector<double> xy = hand.to_doubles(), deviation = view.reach.at("lateral_deviation").to_doubles();
  const std::vector<int64_t> condition = int64s(view.data.condition);
  const std::vector<double> times = doubles(view.data.times);
  const std::vector<EpochSpan> spans = epoch_spans(epoch_of_trial(view.data.epoch, view));
  json paths = json::array();
  for (const EpochSpan& span : spans)
    for (const auto& [k, when] : first_and_last_per_condition(
             condition, span.first, span.last, "first reach to each target", "last reach to each target"))
      for (int64_t t = 0; t < T; ++t)
        paths.push_back({{"x", xy[(t * K + k) * 2]},
                         {"y", xy[(t * K + k) * 2 + 1]},
                         {"time", times[t]},
                         {"epoch", span.epoch},
                         {"when", when},
                         {"condition", condition_name(view, condition[k])},
                         {"trial", k}});
  json deviations = json::array();
  for (int64_t k = 0; k < K; ++k) deviations.push_back({{"trial", k}, {"deviation", deviation[k]}});
  ReportSection section;
  section.heading = "Reaching behaviour";
  section.html =
      "<p>The simulated hand of the recorded network (dataset arrays <code>hand</code> and "
      "<code>lateral_deviation</code>).</p>\n";
  section.charts.push_back(hand_path_chart(paths));
  section.charts.push_back(lateral_deviation_chart(deviations, spans));
  return section;
}

std::optional<ReportSection> analyses_section(const fs::path& out_dir, const ResultsFile& results) {
  const json analyses = results.document.value("analyses", json::object());
  const fs::path cp_json = out_dir / "analysis" / "cp.json";
  if (!fs::exists(cp_json) && !analyses.contains("trial_factor_similarity")) return std::nullopt;
  ReportSection section;
  section.heading = "Analyses";
  if (fs::exists(cp_json)) {
    const json cp = read_json(cp_json);
    json rows = json::array();
    for (const json& model : cp.value("models", json::array()))
      rows.push_back({{"rank", model.at("rank")}, {"relative_error", model.at("relative_error")}});
    const bool updates = analyses.contains("cp") ? analyses["cp"].value("updates", false) : false;
    section.charts.push_back(cp_error_chart(cp.value("key", "tensor"), updates, rows));
    std::string ranks;
    for (const json& unfolding : cp.value("unfoldings", json::array()))
      ranks += (ranks.empty() ? "" : ", ") + std::string("mode ") + unfolding.at("mode").dump() + ": " +
               unfolding.at("rank_99").dump();
    section.html += "<p>CP decomposition (ALS) of the dataset array <code>" + html_escape(cp.value("key", "")) +
                    "</code>" + (updates ? " (its learning updates X(k) − X(first trial))" : "") +
                    "; files <code>analysis/cp.json</code> and <code>analysis/cp.npz</code>. Unfolding ranks "
                    "(99% of the squared singular values): " +
                    html_escape(ranks) + ".</p>\n";
  }
  if (analyses.contains("trial_factor_similarity")) {
    std::ostringstream table;
    table << "<p>Similarity of each rank's fitted trial factors to those of the CP model of the true weights (1 = "
             "identical up to order, sign and scale), with the chance level from shuffled trials:</p>\n<table>\n"
             "<tr><th>rank</th><th>run</th><th>similarity</th><th>chance</th></tr>\n";
    for (const json& row : analyses["trial_factor_similarity"])
      table << "<tr" << (row.value("selected", false) ? " class=\"selected\"" : "") << "><td class=\"num\">"
            << row.value("rank", 0) << "</td><td>" << html_escape(row.value("run", "")) << "</td><td class=\"num\">"
            << number(row.value("similarity", 0.0)) << "</td><td class=\"num\">"
            << number(row.value("chance_similarity", 0.0)) << "</td></tr>\n";
    table << "</table>\n";
    section.html += table.str();
  }
  return section;
}

ReportPage report_page(const fs::path& out_dir);

}  // namespace

ReportPage build_report(const fs::path& out_dir) {
  try {
    return report_page(out_dir);
  } catch (const json::exception& error) {
    throw InputError(out_dir.string() +
                     ": experiment.json, results.json or analysis/cp.json lacks a field the report "
                     "needs, or has one of the wrong type (" +
                     error.what() + "); were they written by `ltrnn run`?");
  }
}

namespace {

ReportPage report_page(const fs::path& out_dir) {
  const json experiment_document = read_json(out_dir / "experiment.json");
  const fs::path results_path = out_dir / "results.json";
  const ResultsFile results = [&] {
    json document = read_json(results_path);  // a missing file: the message that names the output directory
    try {
      return results_from_json(std::move(document), results_path.string());
    } catch (const InputError& error) {
      throw InputError(out_dir.string() +
                       ": results.json lacks a field the report needs, or has one of the wrong type (" + error.what() +
                       "); was it written by `ltrnn run`?");
    }
  }();
  const Experiment experiment = [&] {
    try {
      return experiment_from_resolved_json(experiment_document, (out_dir / "experiment.json").string());
    } catch (const InputError& error) {
      throw InputError(out_dir.string() +
                       ": experiment.json lacks a field the report needs, or has one of the wrong type (" +
                       error.what() + "); was it written by `ltrnn run`?");
    }
  }();
  const ComparisonTable table = compare_runs(results.runs, entry_losses_in(out_dir));
  const DatasetView view = load_dataset_view(experiment, out_dir);
  const std::vector<SelectedFit> fits = selected_fits(results);
  const std::vector<std::string> families = family_names(families_of(results.runs));

  ReportPage page;
  page.title = "ltrnn report: " + (experiment.name.empty() ? out_dir.filename().string() : experiment.name);
  page.html =
      (experiment.description.empty() ? std::string() : "<p>" + html_escape(experiment.description) + "</p>\n") +
      selection_html(results, table);
  page.sections.push_back(experiment_section(experiment, results, view, fits));

  ReportSection selection;
  selection.heading = "Model selection";
  std::vector<std::string> selected_ids;
  for (const SelectedFit& fit : fits) selected_ids.push_back(fit.id);
  selection.charts.push_back(rank_selection_chart(results.runs, table, families));
  selection.charts.push_back(parameter_count_chart(results.runs, families, selected_ids));
  page.sections.push_back(selection);

  for (const SelectedFit& fit : fits) page.sections.push_back(fit_section(fit, out_dir / "runs" / fit.id, view));
  if (auto section = reach_section(view)) page.sections.push_back(*section);
  if (auto section = analyses_section(out_dir, results)) page.sections.push_back(*section);
  return page;
}

}  // namespace

fs::path write_report(const fs::path& out_dir, fs::path html_path) {
  if (html_path.empty()) html_path = out_dir / "report.html";
  const std::string html =
      render_report_html(is_sweep_directory(out_dir) ? build_sweep_report(load_sweep(out_dir)) : build_report(out_dir));
  write_file_atomic(html_path, html);
  return html_path;
}

}  // namespace ltrnn
