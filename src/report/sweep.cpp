// The sweep page and table (report/sweep.h).
#include "report/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <sstream>

#include "model/family.h"
#include "report/charts.h"
#include "spec/experiment.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json_file(const fs::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& error) {
    throw InputError(path.string() + ": not valid JSON (" + error.what() + ")");
  }
}

// object[path[0]][path[1]]...: a null json when any step is missing or not an object
// (results.json has "analyses" only when the experiment asked for some).
const json& member(const json& object, std::initializer_list<const char*> path) {
  static const json null;
  const json* at = &object;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return null;
    at = &(*at)[key];
  }
  return *at;
}

// An array member (empty when absent).
json array_member(const json& object, std::initializer_list<const char*> path) {
  const json& value = member(object, path);
  return value.is_array() ? value : json::array();
}

// `object[key]` when present and not null, else `fallback`.
template <typename T>
T value_or(const json& object, const char* key, T fallback) {
  return object.is_object() && object.contains(key) && !object[key].is_null() ? object[key].get<T>() : fallback;
}

std::string format_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v.get<double>());
    return text;
  }
  return v.dump();
}

// "init_gain 0, pretrain_optimizer sgd": the varied parameters of a cell.
std::string cell_setting(const Sweep& sweep, const SweepCell& cell) {
  std::string text;
  for (const std::string& key : sweep.varied)
    text += (text.empty() ? "" : ", ") + key + " " + format_value(cell.parameters.value(key, json()));
  return text.empty() ? cell.name : text;
}

// The family whose rank a sweep cell selects (the trial-factor family, model/family.h), and
// the one whose weights do not change over learning (the no-learning baseline).
ModelKind ranked_family() { return family_with_view(ConnectivityView::TrialFactors); }
ModelKind fixed_family() { return family_with_view(ConnectivityView::Fixed); }

// The rank selected for the ranked family and the largest rank it was fitted at.
struct RankChoice {
  int64_t selected = 0, largest = 0;
  double selected_nmse = 0;
};

RankChoice ranked_choice(const ResultsFile& results) {
  RankChoice c;
  const auto selected = results.selected_rank.find(ranked_family());
  c.selected = selected == results.selected_rank.end() ? 0 : selected->second;
  for (const ComparisonRow& row : results.summary) {
    if (row.model != ranked_family()) continue;
    c.largest = std::max(c.largest, row.rank);
    if (row.rank == c.selected && std::isfinite(row.mean_nmse)) c.selected_nmse = row.mean_nmse;
  }
  return c;
}

double family_nmse(const ResultsFile& results, ModelKind family) {
  for (const ComparisonRow& row : results.summary)
    if (row.model == family) return std::isfinite(row.mean_nmse) ? row.mean_nmse : 0.0;
  return 0.0;
}

// The similarity row of the selected rank (compare_trial_factors), or null.
json selected_similarity(const json& results) {
  for (const json& row : array_member(results, {"analyses", "trial_factor_similarity"}))
    if (row.value("selected", false)) return row;
  return json();
}

double cp_error_at(const json& results, int64_t rank) {
  for (const json& row : array_member(results, {"analyses", "cp", "errors"}))
    if (row.value("rank", int64_t{0}) == rank) return row.value("relative_error", 0.0);
  return -1;
}

std::string cp_error_text(const json& results, int64_t rank) {
  const double e = cp_error_at(results, rank);
  if (e < 0) return "-";
  char text[16];
  std::snprintf(text, sizeof text, "%.3f", e);
  return text;
}

// The largest number of singular values holding 99% of dW(k) over trials (ranks.json).
std::string update_rank_99(const SweepCell& cell, const std::string& absent) {
  const json& value = member(cell.ranks, {"updates", "max", "rank_99"});
  return value.is_number() ? std::to_string(value.get<int64_t>()) : absent;
}

const char* kCurvePoints[] = {"baseline_late", "field_early", "field_late", "washout_early", "washout_late"};
const char* kCurveLabels[] = {"BL late", "AD early", "AD late", "WO early", "WO late"};

std::string cell_table_html(const Sweep& sweep) {
  std::ostringstream out;
  out << "<table>\n<tr><th>cell</th><th>pre-training RMS error</th><th>lateral deviation: BL late / AD early / AD "
         "late / WO early / WO late</th><th>CP error of dW, ranks 1-6</th><th>unfolding ranks (99%)</th>"
         "<th>dW(k) rank 99% (max)</th><th>selected rank (largest tested)</th><th>test nMSE: selected / static</th>"
         "<th>trial-factor similarity (chance)</th></tr>\n";
  char cell[96];
  for (const SweepCell& c : sweep.cells) {
    const json& r = c.results.document;
    const json reach = r.value("reach", json::object());
    const json curve = reach.value("lateral_deviation", json::object());
    std::string deviations, errors, unfolding;
    for (const char* point : kCurvePoints) {
      std::snprintf(cell, sizeof cell, "%+.3f", value_or<double>(curve, point, 0.0));
      deviations += (deviations.empty() ? "" : " / ") + std::string(cell);
    }
    for (int64_t rank = 1; rank <= 6; ++rank) {
      const double e = cp_error_at(r, rank);
      if (e < 0) continue;
      std::snprintf(cell, sizeof cell, "%.3f", e);
      errors += (errors.empty() ? "" : " ") + std::string(cell);
    }
    for (const json& u : array_member(r, {"analyses", "cp", "unfolding_rank_99"}))
      unfolding += (unfolding.empty() ? "" : " / ") + u.dump();
    const RankChoice choice = ranked_choice(c.results);
    const json similarity = selected_similarity(r);
    std::snprintf(cell, sizeof cell, "%.3f", value_or<double>(reach, "pretrain_rms_error", 0.0));
    out << "<tr><td>" << html_escape(cell_setting(sweep, c)) << "</td><td>" << cell << "</td><td>" << deviations
        << "</td><td>" << errors << "</td><td>" << unfolding << "</td><td>" << update_rank_99(c, "–") << "</td><td>"
        << choice.selected << " (" << choice.largest << ")</td><td>";
    std::snprintf(cell, sizeof cell, "%.4f / %.4f", choice.selected_nmse, family_nmse(c.results, fixed_family()));
    out << cell << "</td><td>";
    if (similarity.is_null()) {
      out << "–";
    } else {
      std::snprintf(cell, sizeof cell, "%.3f (%.3f)", similarity.value("similarity", 0.0),
                    similarity.value("chance_similarity", 0.0));
      out << cell;
    }
    out << "</td></tr>\n";
  }
  out << "</table>\n";
  return out.str();
}

}  // namespace

bool is_sweep_directory(const fs::path& dir) {
  if (!fs::is_directory(dir) || fs::exists(dir / "experiment.json")) return false;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory() && fs::exists(entry.path() / "results.json")) return true;
  return false;
}

Sweep load_sweep(const fs::path& dir) {
  Sweep sweep;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path cell = entry.path();
    if (!entry.is_directory() || !fs::exists(cell / "results.json") || !fs::exists(cell / "experiment.json")) continue;
    const json experiment = read_json_file(cell / "experiment.json");
    json results = read_json_file(cell / "results.json");
    if (!experiment.is_object() || !results.is_object())
      throw InputError(cell.string() + ": experiment.json and results.json must be JSON objects");
    const json dataset =
        dataset_json(experiment_from_resolved_json(experiment, (cell / "experiment.json").string()).dataset);
    SweepCell c{cell.filename().string(), dataset.value("parameters", json::object()),
                results_from_json(std::move(results), (cell / "results.json").string()), json()};
    if (fs::exists(cell / "analysis" / "ranks.json")) c.ranks = read_json_file(cell / "analysis" / "ranks.json");
    sweep.cells.push_back(std::move(c));
  }
  if (sweep.cells.empty())
    throw InputError(dir.string() +
                     ": no finished experiment in its subdirectories (each needs experiment.json and results.json)");
  std::sort(sweep.cells.begin(), sweep.cells.end(),
            [](const SweepCell& a, const SweepCell& b) { return a.name < b.name; });
  std::set<std::string> keys;
  for (const SweepCell& c : sweep.cells)
    for (const auto& item : c.parameters.items()) keys.insert(item.key());
  for (const std::string& key : keys)
    for (const SweepCell& c : sweep.cells)
      if (c.parameters.value(key, json()) != sweep.cells.front().parameters.value(key, json())) {
        sweep.varied.push_back(key);
        break;
      }
  return sweep;
}

static ReportPage build_sweep_page(const Sweep& sweep) {
  ReportPage page;
  page.title = "Sweep of " + std::to_string(sweep.cells.size()) + " experiments";
  std::string varied;
  for (const std::string& key : sweep.varied) varied += (varied.empty() ? "" : ", ") + key;
  page.html = "<p>Cells differ in: " + html_escape(varied.empty() ? "nothing" : varied) +
              ". Each cell's own page is report.html in its directory (when it wrote one).</p>";
  json curve = json::array(), cp = json::array(), nmse = json::array(), similarity = json::array();
  for (const SweepCell& c : sweep.cells) {
    const std::string name = cell_setting(sweep, c);
    const json& r = c.results.document;
    const json deviation = r.value("reach", json::object()).value("lateral_deviation", json::object());
    for (int i = 0; i < 5; ++i)
      if (deviation.contains(kCurvePoints[i]))
        curve.push_back(
            {{"cell", name}, {"order", i}, {"point", kCurveLabels[i]}, {"deviation", deviation[kCurvePoints[i]]}});
    for (const json& row : array_member(r, {"analyses", "cp", "errors"}))
      cp.push_back(
          {{"cell", name}, {"rank", row.value("rank", json())}, {"value", row.value("relative_error", json())}});
    const RankChoice choice = ranked_choice(c.results);
    for (const ComparisonRow& row : c.results.summary)
      if (row.model == ranked_family() && std::isfinite(row.mean_nmse))
        nmse.push_back(
            {{"cell", name}, {"rank", row.rank}, {"value", row.mean_nmse}, {"selected", row.rank == choice.selected}});
    for (const json& row : array_member(r, {"analyses", "trial_factor_similarity"})) {
      similarity.push_back({{"cell", name},
                            {"rank", row.value("rank", json())},
                            {"value", row.value("similarity", json())},
                            {"factors", "fitted"}});
      similarity.push_back({{"cell", name},
                            {"rank", row.value("rank", json())},
                            {"value", row.value("chance_similarity", json())},
                            {"factors", "shuffled (chance)"}});
    }
  }
  ReportSection table{"Cells", cell_table_html(sweep), {}};
  ReportSection charts{"Against the cell's setting", "", {}};
  if (!curve.empty()) charts.charts.push_back(sweep_learning_curve_chart(curve));
  if (!cp.empty())
    charts.charts.push_back(sweep_rank_chart(
        "CP error of the true learning updates dW",
        "Relative error of the best CP model of dW(k) = W(k) − W(first) at each rank: low tensor rank shows as a "
        "curve that drops to near zero within a few components.",
        "relative error (ratio)", cp));
  if (!nmse.empty())
    charts.charts.push_back(sweep_rank_chart("ltrRNN test error against rank",
                                             "Mean test nMSE of the " + to_string(ranked_family()) +
                                                 " fits over seeds; the ring marks the rank each cell selected (the "
                                                 "smallest within one standard error of the best).",
                                             "test nMSE (ratio)", nmse, "", "selected"));
  if (!similarity.empty())
    charts.charts.push_back(sweep_rank_chart(
        "Trial factors of the fits against the true ones",
        "Similarity of each rank's fitted trial factors with the CP trial factors of the true dW of the same rank "
        "(solid), and the same after shuffling the fitted factors' trial order (dashed, a chance level).",
        "similarity (0-1)", similarity, "factors"));
  page.sections = {table, charts};
  return page;
}

static std::string sweep_table(const Sweep& sweep) {
  std::ostringstream out;
  char line[512];
  int width = 4;  // the cell column fits the longest setting
  for (const SweepCell& c : sweep.cells) width = std::max(width, static_cast<int>(cell_setting(sweep, c).size()));
  std::snprintf(line, sizeof line, "%-*s %6s %40s %6s %6s %9s %9s %8s %13s\n", width, "cell", "RMS",
                "BL late  AD early  AD late  WO early  WO late", "CP r5", "CP r6", "unfold", "dW r99", "rank",
                "sim (chance)");
  out << line;
  for (const SweepCell& c : sweep.cells) {
    const json& r = c.results.document;
    const json reach = r.value("reach", json::object());
    const json curve = reach.value("lateral_deviation", json::object());
    std::string deviations, unfolding;
    for (const char* point : kCurvePoints) {
      char v[16];
      std::snprintf(v, sizeof v, "%+8.3f", value_or<double>(curve, point, 0.0));
      deviations += v;
    }
    for (const json& u : array_member(r, {"analyses", "cp", "unfolding_rank_99"}))
      unfolding += (unfolding.empty() ? "" : "/") + u.dump();
    const RankChoice choice = ranked_choice(c.results);
    const json similarity = selected_similarity(r);
    std::string selected = std::to_string(choice.selected) + " of " + std::to_string(choice.largest);
    char sim[32] = "-";
    if (!similarity.is_null())
      std::snprintf(sim, sizeof sim, "%.3f (%.3f)", similarity.value("similarity", 0.0),
                    similarity.value("chance_similarity", 0.0));
    std::snprintf(line, sizeof line, "%-*s %6.3f %40s %6s %6s %9s %9s %8s %13s\n", width,
                  cell_setting(sweep, c).c_str(), value_or<double>(reach, "pretrain_rms_error", 0.0),
                  deviations.c_str(), cp_error_text(r, 5).c_str(), cp_error_text(r, 6).c_str(), unfolding.c_str(),
                  update_rank_99(c, "-").c_str(), selected.c_str(), sim);
    out << line;
  }
  return out.str();
}

// A field of the wrong type in a cell's files is bad input (exit 2), named.
template <typename F>
auto reading_cells(F&& build) -> decltype(build()) {
  try {
    return build();
  } catch (const json::exception& error) {
    throw InputError(std::string("sweep: a cell's results.json or analysis/ranks.json has an unexpected field (") +
                     error.what() + ")");
  }
}

ReportPage build_sweep_report(const Sweep& sweep) {
  return reading_cells([&] { return build_sweep_page(sweep); });
}

std::string format_sweep_table(const Sweep& sweep) {
  return reading_cells([&] { return sweep_table(sweep); });
}

}  // namespace ltrnn
