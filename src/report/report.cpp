// report.html from an output directory (see report.h): reads the saved results, rebuilds
// each family's selected fit from its checkpoint, and turns both into charts (charts.h).
#include "report/report.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "data/dataset.h"
#include "report/charts.h"
#include "train/fit.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kNeuronsShown = 3;      // predicted vs recorded: the most variable neurons
constexpr int64_t kConditionsShown = 8;   // at most this many condition columns per chart
constexpr std::size_t kCurvePoints = 500;  // training curves are thinned to about this many points
constexpr int64_t kWeightChunk = 32;      // trials per dense W(k) batch (bounded memory)

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

std::string number(double value, int digits = 3) {
  if (!std::isfinite(value)) return "–";
  std::ostringstream out;
  out << std::setprecision(digits) << value;
  return out.str();
}

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  return out.str();
}

std::vector<double> doubles(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kDouble).contiguous().reshape({-1});
  return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
}

std::vector<int64_t> int64s(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.to(torch::kInt64).contiguous().reshape({-1});
  return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

// ---------------------------------------------------------------------------------------
// 1. What the report knows of the dataset and of the runs.

struct DatasetView {
  bool loaded = false;
  fs::path path;
  std::string note;              // why it could not be loaded
  Dataset data;                  // preprocessed, as the models were fitted to it
  std::string activity_unit;     // for axis titles
  std::map<std::string, NpyArray> reach;  // hand [T, K, 2], lateral_deviation [K] when present
};

DatasetView load_dataset_view(const json& experiment, const fs::path& out_dir) {
  DatasetView view;
  const json& dataset = experiment.at("dataset");
  view.path = dataset.contains("file") ? fs::path(dataset.at("file").get<std::string>()) : out_dir / "dataset.npz";
  try {
    const Dataset raw = load_dataset(view.path);
    const json p = experiment.value("preprocess", json::object());
    PreprocessConfig config;
    config.smooth_sigma = p.value("smooth_sigma", 0.0);
    config.zscore = p.value("zscore", false);
    view.data = preprocess(raw, config);
    view.activity_unit = config.zscore ? "z-score" : raw.counts ? "spike count per bin" : "data units";
    if (view.path.extension() == ".npz") {
      std::map<std::string, NpyArray> arrays = read_npz(view.path);
      for (const char* key : {"hand", "lateral_deviation"})
        if (arrays.count(key)) view.reach[key] = arrays.at(key);
    }
    view.loaded = true;
  } catch (const std::exception& error) {
    view.note = "The dataset " + view.path.string() + " could not be read (" + error.what() +
                "); the charts that compare with recorded activity are left out.";
  }
  return view;
}

// The epoch label of each trial: the dataset's labels, or "epoch <index>" without them.
std::vector<std::string> epoch_of_trial(const torch::Tensor& epoch, const DatasetView& view) {
  std::vector<std::string> labels;
  for (int64_t e : int64s(epoch))
    labels.push_back(view.loaded && e < static_cast<int64_t>(view.data.epoch_labels.size()) ? view.data.epoch_labels[e]
                                                                                           : "epoch " + std::to_string(e));
  return labels;
}

std::string condition_name(const DatasetView& view, int64_t c) {
  const bool labelled = view.loaded && c < static_cast<int64_t>(view.data.condition_labels.size());
  return "condition " + std::to_string(labelled ? view.data.condition_labels[c] : c);
}

// The fit the report shows for one family: at the selected rank (ranked families) the seed
// with the lowest test NMSE; otherwise the best seed.
struct SelectedFit {
  std::string family, id;
  int64_t rank = 0, seed = 0;
  double test_nmse = 0;
  std::string label() const {
    return family + (rank > 0 ? ", rank " + std::to_string(rank) : "") + ", seed " + std::to_string(seed);
  }
};

std::vector<std::string> families_of(const json& results) {
  std::vector<std::string> families;
  for (const json& run : results.at("runs")) {
    const std::string model = run.at("model");
    if (std::find(families.begin(), families.end(), model) == families.end()) families.push_back(model);
  }
  return families;
}

std::vector<SelectedFit> selected_fits(const json& results) {
  const json selected_rank = results.value("selected_rank", json::object());
  std::vector<SelectedFit> fits;
  for (const std::string& family : families_of(results)) {
    std::optional<SelectedFit> best;
    for (const json& run : results.at("runs")) {
      if (run.at("model") != family || run.value("status", "") != "finished" || !run.at("test_nmse").is_number())
        continue;
      const int64_t rank = run.value("rank", 0);
      if (selected_rank.contains(family) && selected_rank[family] != rank) continue;
      const double nmse = run.at("test_nmse");
      if (!best || nmse < best->test_nmse) best = SelectedFit{family, run.at("id"), rank, run.at("seed"), nmse};
    }
    if (best) fits.push_back(*best);
  }
  return fits;
}

// ---------------------------------------------------------------------------------------
// 2. The experiment: prose and tables.

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::ostringstream out;
  out << "<table>\n";
  for (const auto& [key, value] : rows) out << "<tr><th>" << html_escape(key) << "</th><td>" << value << "</td></tr>\n";
  out << "</table>\n";
  return out.str();
}

std::string dataset_description(const json& experiment, const DatasetView& view) {
  const json& dataset = experiment.at("dataset");
  std::string source = dataset.contains("file") ? "file " + html_escape(dataset.at("file").get<std::string>())
                                                : "generator <b>" + html_escape(dataset.value("generator", "")) + "</b>";
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

std::string runs_table(const json& results, const std::vector<SelectedFit>& fits) {
  std::ostringstream out;
  out << "<table>\n<tr><th>run</th><th>model</th><th>rank</th><th>hidden N</th><th>seed</th><th>parameters</th>"
         "<th>iterations</th><th>seconds</th><th>test NMSE</th><th>test R²</th><th>status</th></tr>\n";
  for (const json& run : results.at("runs")) {
    const bool selected = std::any_of(fits.begin(), fits.end(), [&](const SelectedFit& f) { return f.id == run.at("id"); });
    const auto num = [&](const char* key, int digits) {
      return run.contains(key) && run[key].is_number() ? number(run[key].get<double>(), digits) : std::string("–");
    };
    out << "<tr" << (selected ? " class=\"selected\"" : "") << "><td>" << html_escape(run.at("id").get<std::string>())
        << "</td><td>" << html_escape(run.at("model").get<std::string>()) << "</td><td class=\"num\">"
        << (run.value("rank", 0) > 0 ? std::to_string(run.value("rank", 0)) : "–") << "</td><td class=\"num\">"
        << run.value("hidden", 0) << "</td><td class=\"num\">" << run.value("seed", 0) << "</td><td class=\"num\">"
        << run.value("n_params", 0) << "</td><td class=\"num\">" << run.value("iterations", 0) << "</td><td class=\"num\">"
        << num("seconds", 3) << "</td><td class=\"num\">" << num("test_nmse", 4) << "</td><td class=\"num\">"
        << num("test_r2", 4) << "</td><td>" << html_escape(run.value("status", "")) << "</td></tr>\n";
  }
  out << "</table>\n<p class=\"note\">Highlighted: the fit of each family shown below (the selected rank's best seed).</p>\n";
  return out.str();
}

ReportSection experiment_section(const json& experiment, const json& results, const DatasetView& view,
                                 const std::vector<SelectedFit>& fits) {
  int64_t finished = 0, failed = 0;
  double fit_seconds = 0;
  for (const json& run : results.at("runs")) {
    if (run.value("status", "") == "finished") ++finished;
    else ++failed;
    if (run.contains("seconds") && run["seconds"].is_number()) fit_seconds += run["seconds"].get<double>();
  }
  std::string seeds;
  for (const json& seed : experiment.value("seeds", json::array())) seeds += (seeds.empty() ? "" : ", ") + seed.dump();
  const json mask = experiment.value("mask", json::object());
  const json preprocess = experiment.value("preprocess", json::object());
  std::string preprocessing;
  if (preprocess.value("smooth_sigma", 0.0) > 0) preprocessing = "Gaussian smoothing, σ " + number(preprocess.value("smooth_sigma", 0.0)) + " bins";
  if (preprocess.value("zscore", false)) preprocessing += std::string(preprocessing.empty() ? "" : "; ") + "z-scored per neuron";
  const std::string wall = results.contains("wall_seconds") && results["wall_seconds"].is_number()
                               ? fixed(results["wall_seconds"].get<double>(), 1) + " s (whole `ltrnn run`, last invocation)"
                               : "not recorded";
  ReportSection section;
  section.heading = "Experiment";
  section.html =
      key_value_table({{"experiment file", html_escape(experiment.value("source", ""))},
                       {"dataset", dataset_description(experiment, view)},
                       {"data", shape_description(view)},
                       {"preprocessing", preprocessing.empty() ? "none" : html_escape(preprocessing)},
                       {"cross-validation", "block mask, " + number(mask.value("test_fraction", 0.0) * 100) +
                                                "% of entries held out for testing (mask seed " +
                                                std::to_string(mask.value("seed", 0)) + ")"},
                       {"seeds", html_escape(seeds)},
                       {"plan", std::to_string(results.at("runs").size()) + " runs: " + std::to_string(finished) +
                                    " finished, " + std::to_string(failed) + " not finished"},
                       {"fitting time", fixed(fit_seconds, 1) + " s (sum over runs)"},
                       {"wall time", html_escape(wall)}}) +
      runs_table(results, fits);
  return section;
}

// The lead paragraph: which rank was selected for each family, and why.
std::string selection_html(const json& results) {
  std::ostringstream out;
  const json selected_rank = results.value("selected_rank", json::object());
  std::map<std::string, std::vector<json>> rows;
  for (const json& row : results.value("summary", json::array()))
    if (row.value("rank", 0) > 0 && row.value("finished", 0) > 0) rows[row.at("model")].push_back(row);
  for (const auto& [family, rank_value] : selected_rank.items()) {
    const int64_t rank = rank_value;
    const auto& family_rows = rows[family];
    if (family_rows.empty()) continue;
    const json& best = *std::min_element(family_rows.begin(), family_rows.end(), [](const json& a, const json& b) {
      return a.at("mean_test_nmse").get<double>() < b.at("mean_test_nmse").get<double>();
    });
    const json& chosen = *std::find_if(family_rows.begin(), family_rows.end(),
                                       [&](const json& r) { return r.at("rank") == rank; });
    out << "<p class=\"selection\"><b>" << html_escape(family) << ": rank " << rank << " selected.</b> It is the "
        << "smallest rank whose mean test NMSE over seeds (" << number(chosen.at("mean_test_nmse").get<double>()) << ") is within one "
        << "standard error of the best mean (rank " << best.at("rank") << ": " << number(best.at("mean_test_nmse").get<double>())
        << " ± " << number(best.at("se_test_nmse").get<double>()) << "); larger ranks do not predict held-out activity reliably "
        << "better.</p>\n";
  }
  if (results.contains("best") && results["best"].contains("id"))
    out << "<p>Lowest test NMSE of any run: <b>" << html_escape(results["best"]["id"].get<std::string>()) << "</b> ("
        << number(results["best"].value("test_nmse", 0.0), 4) << ").</p>\n";
  return out.str();
}

// ---------------------------------------------------------------------------------------
// 3. One selected fit: its training curve and what its checkpoint says.

// A CSV field as a number; NaN when empty or not a number.
double csv_number(const std::string& field) {
  char* end = nullptr;
  const double value = std::strtod(field.c_str(), &end);
  const char* last = field.c_str() + field.size();
  return end != field.c_str() && std::all_of(static_cast<const char*>(end), last, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })
             ? value
             : std::nan("");
}

json training_curve_rows(const fs::path& log_csv) {
  std::ifstream in(log_csv);
  std::string line;
  std::getline(in, line);  // header: iteration,train_loss,test_loss,seconds
  struct Record {
    int64_t iteration;
    double train, test;
  };
  std::vector<Record> records;
  while (std::getline(in, line)) {
    std::array<double, 3> fields{std::nan(""), std::nan(""), std::nan("")};
    std::istringstream text(line);
    std::string field;
    for (double& value : fields)
      if (std::getline(text, field, ',')) value = csv_number(field);
    if (std::isfinite(fields[0])) records.push_back({static_cast<int64_t>(fields[0]), fields[1], fields[2]});
  }
  json rows = json::array();
  const std::size_t stride = std::max<std::size_t>(1, (records.size() + kCurvePoints - 1) / kCurvePoints);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i % stride != 0 && i + 1 != records.size()) continue;
    const Record& r = records[i];
    if (std::isfinite(r.train)) rows.push_back({{"iteration", r.iteration}, {"loss", r.train}, {"set", "train"}});
    if (std::isfinite(r.test)) rows.push_back({{"iteration", r.iteration}, {"loss", r.test}, {"set", "test"}});
  }
  return rows;
}

// W(k) for the given trials [k, N, N], float64.
torch::Tensor weights_of(RnnModel& model, const std::vector<int64_t>& trials) {
  return model->weights(torch::tensor(trials, torch::kInt64)).to(torch::kDouble);
}

// Applies f to W(k) of all trials, in batches of kWeightChunk (dense W(k) can be large).
template <typename F>
void for_weight_batches(RnnModel& model, int64_t n_trials, F&& f) {
  for (int64_t start = 0; start < n_trials; start += kWeightChunk) {
    std::vector<int64_t> trials;
    for (int64_t k = start; k < std::min(n_trials, start + kWeightChunk); ++k) trials.push_back(k);
    f(start, weights_of(model, trials));
  }
}

// One pass over W(k) of every trial: the trial-averaged W [N, N] and the rows
// {trial, change} of ||W(k) - W(0)||_F / ||W(0)||_F.
struct WeightSummary {
  torch::Tensor mean;
  json change_rows = json::array();
};

WeightSummary summarise_weights(RnnModel& model, int64_t n_trials) {
  const torch::Tensor first = weights_of(model, {0})[0];
  const double scale = first.norm().item<double>();
  WeightSummary summary;
  summary.mean = torch::zeros_like(first);
  for_weight_batches(model, n_trials, [&](int64_t start, const torch::Tensor& w) {
    summary.mean += w.sum(0) / n_trials;
    const std::vector<double> change = doubles((w - first).flatten(1).norm(2, {1}) / (scale > 0 ? scale : 1.0));
    for (std::size_t i = 0; i < change.size(); ++i)
      summary.change_rows.push_back({{"trial", start + static_cast<int64_t>(i)}, {"change", change[i]}});
  });
  return summary;
}

json trial_factor_rows(const torch::Tensor& trial_factors) {
  const int64_t K = trial_factors.size(0), R = trial_factors.size(1);
  const std::vector<double> c = doubles(trial_factors);
  json rows = json::array();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < K; ++k) rows.push_back({{"trial", k}, {"component", std::to_string(r + 1)}, {"value", c[k * R + r]}});
  return rows;
}

json loading_rows(const torch::Tensor& column, const torch::Tensor& row) {
  json rows = json::array();
  const int64_t N = column.size(0), R = column.size(1);
  for (const auto& [name, factor] : {std::make_pair("column a_r", column), std::make_pair("row b_r", row)}) {
    const std::vector<double> v = doubles(factor);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t i = 0; i < N; ++i)
        rows.push_back({{"unit", i}, {"component", std::to_string(r + 1)}, {"factor", name}, {"value", v[i * R + r]}});
  }
  return rows;
}

// Per condition (at most kConditionsShown), the first and the last trial of the session.
std::vector<std::pair<int64_t, std::string>> first_and_last_per_condition(const std::vector<int64_t>& condition,
                                                                         int64_t first, int64_t last,
                                                                         const std::string& first_label,
                                                                         const std::string& last_label) {
  std::map<int64_t, std::pair<int64_t, int64_t>> span;  // condition -> (first, last) trial
  for (int64_t k = first; k <= last; ++k) {
    auto [it, inserted] = span.emplace(condition[k], std::make_pair(k, k));
    it->second.second = k;
  }
  std::vector<std::pair<int64_t, std::string>> trials;
  for (const auto& [c, ends] : span) {
    if (c >= kConditionsShown) break;
    trials.emplace_back(ends.first, first_label);
    if (ends.second != ends.first) trials.emplace_back(ends.second, last_label);
  }
  return trials;
}

json prediction_rows(const torch::Tensor& prediction, const DatasetView& view) {
  const Dataset& d = view.data;
  const torch::Tensor variance = d.data.flatten(0, 1).var(/*dim=*/0);  // [D]
  const std::vector<int64_t> neurons = int64s(std::get<1>(variance.topk(std::min<int64_t>(kNeuronsShown, d.n_neurons()))));
  const std::vector<int64_t> condition = int64s(d.condition);
  const std::vector<double> times = doubles(d.times);
  json rows = json::array();
  for (const auto& [k, when] : first_and_last_per_condition(condition, 0, d.n_trials() - 1, "first trial", "last trial"))
    for (int64_t i : neurons) {
      const std::vector<double> recorded = doubles(d.data.select(1, k).select(1, i));
      const std::vector<double> predicted = doubles(prediction.select(1, k).select(1, i));
      for (std::size_t t = 0; t < times.size(); ++t)
        rows.push_back({{"time", times[t]}, {"neuron", "neuron " + std::to_string(i)},
                        {"condition", condition_name(view, condition[k])}, {"when", when}, {"trial", k},
                        {"recorded", recorded[t]}, {"predicted", predicted[t]}});
    }
  return rows;
}

// Per epoch span and condition, the trial of that condition nearest the span's middle.
std::vector<std::pair<int64_t, std::string>> middle_trials(const std::vector<int64_t>& condition,
                                                           const std::vector<EpochSpan>& spans) {
  std::vector<std::pair<int64_t, std::string>> trials;
  for (const EpochSpan& span : spans) {
    const double middle = 0.5 * (span.first + span.last);
    std::map<int64_t, int64_t> nearest;
    for (int64_t k = span.first; k <= span.last; ++k) {
      const int64_t c = condition[k];
      if (c >= kConditionsShown) continue;
      if (!nearest.count(c) || std::abs(k - middle) < std::abs(nearest[c] - middle)) nearest[c] = k;
    }
    for (const auto& [c, k] : nearest) trials.emplace_back(k, span.epoch);
  }
  return trials;
}

json trajectory_rows(const torch::Tensor& hidden, const torch::Tensor& basis, const TrialStructure& structure,
                     const std::vector<EpochSpan>& spans, const DatasetView& view) {
  const std::vector<int64_t> condition = int64s(structure.condition);
  const std::vector<double> times = doubles(structure.times);
  json rows = json::array();
  for (const auto& [k, epoch] : middle_trials(condition, spans)) {
    const std::vector<double> p = doubles(hidden.select(1, k).to(torch::kDouble).matmul(basis));  // [T, dims]
    const int64_t dims = basis.size(1);
    for (std::size_t t = 0; t < times.size(); ++t) {
      json row{{"time", times[t]}, {"p1", p[t * dims]}, {"epoch", epoch}, {"condition", condition_name(view, condition[k])},
               {"trial", k}, {"first", t == 0}};
      if (dims > 1) row["p2"] = p[t * dims + 1];
      rows.push_back(row);
    }
  }
  return rows;
}

json eigenvalue_rows(RnnModel& model, const std::vector<EpochSpan>& spans) {
  json rows = json::array();
  for (const EpochSpan& span : spans)
    for (const auto& [k, when] : {std::make_pair(span.first, "first trial"), std::make_pair(span.last, "last trial")}) {
      const torch::Tensor eigenvalues = torch::linalg::eigvals(weights_of(model, {k})[0]);
      const std::vector<double> re = doubles(torch::real(eigenvalues)), im = doubles(torch::imag(eigenvalues));
      for (std::size_t i = 0; i < re.size(); ++i)
        rows.push_back({{"re", re[i]}, {"im", im[i]}, {"epoch", span.epoch}, {"when", when}, {"trial", k}});
    }
  return rows;
}

void add_model_charts(ReportSection& section, const SelectedFit& fit, const fs::path& run_dir, const DatasetView& view);

ReportSection fit_section(const SelectedFit& fit, const fs::path& run_dir, const DatasetView& view) {
  ReportSection section;
  section.heading = "Selected fit: " + fit.label();
  section.html = "<p>Run <code>" + html_escape(fit.id) + "</code>, test NMSE " + number(fit.test_nmse, 4) +
                 ". Files: <code>" + html_escape((run_dir / "").string()) + "</code>.</p>\n";
  if (fs::exists(run_dir / "log.csv"))
    section.charts.push_back(training_curve_chart(fit.label(), training_curve_rows(run_dir / "log.csv")));
  if (!fs::exists(run_dir / "checkpoint.pt")) {
    section.html += "<p class=\"note\">No checkpoint.pt in the run directory: the charts of the fitted model are left out.</p>\n";
    return section;
  }
  try {
    add_model_charts(section, fit, run_dir, view);
  } catch (const std::exception& error) {
    section.html += "<p class=\"note\">The checkpoint could not be used (" + html_escape(error.what()) +
                    "): the charts of the fitted model are left out.</p>\n";
  }
  return section;
}

// The charts of a fit that need its model, rebuilt from the checkpoint.
void add_model_charts(ReportSection& section, const SelectedFit& fit, const fs::path& run_dir, const DatasetView& view) {
  // The fitted model, simulated on every trial (no gradients; float64 for the charts).
  torch::NoGradGuard no_grad;
  RnnModel model = model_from_checkpoint(run_dir / "checkpoint.pt");
  const TrialStructure& structure = model->structure();
  const int64_t K = structure.n_trials();
  const RnnModelImpl::Output output = model->simulate(torch::arange(K, torch::kInt64));
  const std::vector<EpochSpan> spans = epoch_spans(epoch_of_trial(structure.epoch, view));
  std::map<std::string, torch::Tensor> factors;
  for (const auto& [name, tensor] : model->named_factors()) factors[name] = tensor.detach().to(torch::kDouble);

  // Connectivity over learning: trial factors and loadings, or the change of W(k).
  torch::Tensor basis;  // [N, 1 or 2] directions for the hidden trajectories
  std::string basis_name;
  if (factors.count("trial_factors")) {
    section.charts.push_back(trial_factor_chart(fit.label(), trial_factor_rows(factors["trial_factors"]), spans));
    section.charts.push_back(loading_chart(fit.label(), loading_rows(factors["column_factors"], factors["row_factors"])));
    basis = factors["column_factors"].slice(1, 0, 2);
    basis_name = basis.size(1) > 1 ? "the first two column factors a_1, a_2" : "the column factor a_1";
  } else {
    const WeightSummary weights = summarise_weights(model, K);
    if (fit.family != "static") section.charts.push_back(weight_change_chart(fit.label(), weights.change_rows, spans));
    const torch::Tensor left = std::get<0>(torch::linalg::svd(weights.mean, /*full_matrices=*/false, /*driver=*/c10::nullopt));
    basis = left.slice(1, 0, 2);
    basis_name = "the leading left singular vectors of the trial-averaged W (this family has no column factors)";
  }

  // Activity: predicted against recorded, and hidden trajectories.
  const bool data_match = view.loaded && view.data.n_trials() == K && view.data.n_bins() == structure.n_bins() &&
                          view.data.n_neurons() == output.prediction.size(2);
  if (data_match)
    section.charts.push_back(prediction_chart(fit.label(), prediction_rows(output.prediction, view), view.activity_unit));
  else
    section.html += "<p class=\"note\">" + html_escape(view.loaded ? "The dataset's shape differs from the model's: "
                                                                     "predicted against recorded activity is left out."
                                                                   : view.note) + "</p>\n";
  section.charts.push_back(trajectory_chart(fit.label(), trajectory_rows(output.hidden, basis, structure, spans, view),
                                            basis_name, basis.size(1) > 1));
  section.charts.push_back(eigenvalue_chart(fit.label(), eigenvalue_rows(model, spans)));
}

// ---------------------------------------------------------------------------------------
// 4. Reach data and analyses.

std::optional<ReportSection> reach_section(const DatasetView& view) {
  if (!view.loaded || !view.reach.count("hand") || !view.reach.count("lateral_deviation")) return std::nullopt;
  const NpyArray& hand = view.reach.at("hand");
  const int64_t T = view.data.n_bins(), K = view.data.n_trials();
  if (hand.shape != std::vector<int64_t>{T, K, 2} || view.reach.at("lateral_deviation").numel() != K) return std::nullopt;
  const std::vector<double> xy = hand.to_doubles(), deviation = view.reach.at("lateral_deviation").to_doubles();
  const std::vector<int64_t> condition = int64s(view.data.condition);
  const std::vector<double> times = doubles(view.data.times);
  const std::vector<EpochSpan> spans = epoch_spans(epoch_of_trial(view.data.epoch, view));
  json paths = json::array();
  for (const EpochSpan& span : spans)
    for (const auto& [k, when] : first_and_last_per_condition(condition, span.first, span.last,
                                                              "first reach to each target", "last reach to each target"))
      for (int64_t t = 0; t < T; ++t)
        paths.push_back({{"x", xy[(t * K + k) * 2]}, {"y", xy[(t * K + k) * 2 + 1]}, {"time", times[t]},
                         {"epoch", span.epoch}, {"when", when}, {"condition", condition_name(view, condition[k])},
                         {"trial", k}});
  json deviations = json::array();
  for (int64_t k = 0; k < K; ++k) deviations.push_back({{"trial", k}, {"deviation", deviation[k]}});
  ReportSection section;
  section.heading = "Reaching behaviour";
  section.html = "<p>The simulated hand of the recorded network (dataset arrays <code>hand</code> and "
                 "<code>lateral_deviation</code>).</p>\n";
  section.charts.push_back(hand_path_chart(paths));
  section.charts.push_back(lateral_deviation_chart(deviations, spans));
  return section;
}

std::optional<ReportSection> analyses_section(const fs::path& out_dir, const json& results) {
  const json analyses = results.value("analyses", json::object());
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
                    "(99% of the squared singular values): " + html_escape(ranks) + ".</p>\n";
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
    throw InputError(out_dir.string() + ": experiment.json, results.json or analysis/cp.json lacks a field the report "
                     "needs, or has one of the wrong type (" + error.what() + "); were they written by `ltrnn run`?");
  }
}

namespace {

ReportPage report_page(const fs::path& out_dir) {
  const json experiment = read_json(out_dir / "experiment.json");
  const json results = read_json(out_dir / "results.json");
  if (!results.contains("runs") || !results["runs"].is_array())
    throw InputError((out_dir / "results.json").string() + ": expected an object with a \"runs\" array");
  const DatasetView view = load_dataset_view(experiment, out_dir);
  const std::vector<SelectedFit> fits = selected_fits(results);
  const std::vector<std::string> families = families_of(results);

  ReportPage page;
  page.title = "ltrnn report: " + experiment.value("name", out_dir.filename().string());
  page.html = (experiment.contains("description")
                   ? "<p>" + html_escape(experiment["description"].get<std::string>()) + "</p>\n"
                   : std::string()) +
              selection_html(results);
  page.sections.push_back(experiment_section(experiment, results, view, fits));

  ReportSection selection;
  selection.heading = "Model selection";
  std::vector<std::string> selected_ids;
  for (const SelectedFit& fit : fits) selected_ids.push_back(fit.id);
  selection.charts.push_back(rank_selection_chart(results, families));
  selection.charts.push_back(parameter_count_chart(results, families, selected_ids));
  page.sections.push_back(selection);

  for (const SelectedFit& fit : fits) page.sections.push_back(fit_section(fit, out_dir / "runs" / fit.id, view));
  if (auto section = reach_section(view)) page.sections.push_back(*section);
  if (auto section = analyses_section(out_dir, results)) page.sections.push_back(*section);
  return page;
}

}  // namespace

fs::path write_report(const fs::path& out_dir, fs::path html_path) {
  if (html_path.empty()) html_path = out_dir / "report.html";
  const std::string html = render_report_html(build_report(out_dir));
  write_file_atomic(html_path, html);
  return html_path;
}

}  // namespace ltrnn
