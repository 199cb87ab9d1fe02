// One selected fit's charts, from its log.csv and its checkpoint.
#include "report/fit_section.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/family.h"
#include "report/charts.h"
#include "train/checkpoint.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kNeuronsShown = 3;       // predicted vs recorded: the most variable neurons
constexpr std::size_t kCurvePoints = 500;  // training curves are thinned to about this many points
constexpr int64_t kWeightChunk = 32;       // trials per dense W(k) batch (bounded memory)

// A CSV field as a number; NaN when empty or not a number.
double csv_number(const std::string& field) {
  char* end = nullptr;
  const double value = std::strtod(field.c_str(), &end);
  const char* last = field.c_str() + field.size();
  return end != field.c_str() && std::all_of(static_cast<const char*>(end), last,
                                             [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })
             ? value
             : std::nan("");
}

json training_curve_rows(const fs::path& log_csv) {
  std::ifstream in(log_csv);
  std::string line;
  std::getline(in, line);  // header: iteration,train_loss,test_loss,seconds[,validation_loss]
  struct Record {
    int64_t iteration;
    double train, test, validation;
  };
  std::vector<Record> records;
  while (std::getline(in, line)) {
    std::array<double, 5> fields;
    fields.fill(std::nan(""));
    std::istringstream text(line);
    std::string field;
    for (double& value : fields)
      if (std::getline(text, field, ',')) value = csv_number(field);
    if (std::isfinite(fields[0])) records.push_back({static_cast<int64_t>(fields[0]), fields[1], fields[2], fields[4]});
  }
  json rows = json::array();
  const std::size_t stride = std::max<std::size_t>(1, (records.size() + kCurvePoints - 1) / kCurvePoints);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i % stride != 0 && i + 1 != records.size()) continue;
    const Record& r = records[i];
    if (std::isfinite(r.train)) rows.push_back({{"iteration", r.iteration}, {"loss", r.train}, {"set", "train"}});
    if (std::isfinite(r.validation))
      rows.push_back({{"iteration", r.iteration}, {"loss", r.validation}, {"set", "validation"}});
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
    for (int64_t k = 0; k < K; ++k)
      rows.push_back({{"trial", k}, {"component", std::to_string(r + 1)}, {"value", c[k * R + r]}});
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

json prediction_rows(const torch::Tensor& prediction, const DatasetView& view) {
  const Dataset& d = view.data;
  const torch::Tensor variance = d.data.flatten(0, 1).var(/*dim=*/0);  // [D]
  const std::vector<int64_t> neurons =
      int64s(std::get<1>(variance.topk(std::min<int64_t>(kNeuronsShown, d.n_neurons()))));
  const std::vector<int64_t> condition = int64s(d.condition);
  const std::vector<double> times = doubles(d.times);
  json rows = json::array();
  for (const auto& [k, when] :
       first_and_last_per_condition(condition, 0, d.n_trials() - 1, "first trial", "last trial"))
    for (int64_t i : neurons) {
      const std::vector<double> recorded = doubles(d.data.select(1, k).select(1, i));
      const std::vector<double> predicted = doubles(prediction.select(1, k).select(1, i));
      for (std::size_t t = 0; t < times.size(); ++t)
        rows.push_back({{"time", times[t]},
                        {"neuron", "neuron " + std::to_string(i)},
                        {"condition", condition_name(view, condition[k])},
                        {"when", when},
                        {"trial", k},
                        {"recorded", recorded[t]},
                        {"predicted", predicted[t]}});
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
      json row{{"time", times[t]}, {"p1", p[t * dims]},
               {"epoch", epoch},   {"condition", condition_name(view, condition[k])},
               {"trial", k},       {"first", t == 0}};
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
      const torch::Tensor eigenvalues = torch::linalg_eigvals(weights_of(model, {k})[0]);
      const std::vector<double> re = doubles(torch::real(eigenvalues)), im = doubles(torch::imag(eigenvalues));
      for (std::size_t i = 0; i < re.size(); ++i)
        rows.push_back({{"re", re[i]}, {"im", im[i]}, {"epoch", span.epoch}, {"when", when}, {"trial", k}});
    }
  return rows;
}

// The charts of a fit that need its model, rebuilt from the checkpoint.
void add_model_charts(ReportSection& section, const SelectedFit& fit, const fs::path& run_dir,
                      const DatasetView& view) {
  // The fitted model, simulated on every trial (no gradients; float64 for the charts).
  torch::NoGradGuard no_grad;
  RnnModel model = model_from_checkpoint(run_dir / "checkpoint.pt");
  const TrialStructure& structure = model->structure();
  const int64_t K = structure.n_trials();
  const RnnModelImpl::Output output = model->simulate(torch::arange(K, torch::kInt64));
  const std::vector<EpochSpan> spans = epoch_spans(epoch_of_trial(structure.epoch, view));
  std::map<std::string, torch::Tensor> factors;
  for (const auto& [name, tensor] : model->named_factors()) factors[name] = tensor.detach().to(torch::kDouble);

  // Connectivity over learning, as the family's traits say: trial factors and loadings, or
  // the change of W(k) (none for a family whose W is the same on every trial).
  const ConnectivityView connectivity = family_traits(model->config().kind).connectivity_view();
  torch::Tensor basis;  // [N, 1 or 2] directions for the hidden trajectories
  std::string basis_name;
  if (connectivity == ConnectivityView::TrialFactors) {
    section.charts.push_back(trial_factor_chart(fit.label(), trial_factor_rows(factors["trial_factors"]), spans));
    section.charts.push_back(
        loading_chart(fit.label(), loading_rows(factors["column_factors"], factors["row_factors"])));
    basis = factors["column_factors"].slice(1, 0, 2);
    basis_name = basis.size(1) > 1 ? "the first two column factors a_1, a_2" : "the column factor a_1";
  } else {
    const WeightSummary weights = summarise_weights(model, K);
    if (connectivity == ConnectivityView::WeightChange)
      section.charts.push_back(weight_change_chart(fit.label(), weights.change_rows, spans));
    const torch::Tensor left = std::get<0>(torch::linalg_svd(weights.mean, /*full_matrices=*/false));
    basis = left.slice(1, 0, 2);
    basis_name = "the leading left singular vectors of the trial-averaged W (this family has no column factors)";
  }

  // Activity: predicted against recorded, and hidden trajectories.
  const bool data_match = view.loaded && view.data.n_trials() == K && view.data.n_bins() == structure.n_bins() &&
                          view.data.n_neurons() == output.prediction.size(2);
  if (data_match)
    section.charts.push_back(
        prediction_chart(fit.label(), prediction_rows(output.prediction, view), view.activity_unit));
  else
    section.html += "<p class=\"note\">" +
                    html_escape(view.loaded ? "The dataset's shape differs from the model's: "
                                              "predicted against recorded activity is left out."
                                            : view.note) +
                    "</p>\n";
  section.charts.push_back(trajectory_chart(fit.label(), trajectory_rows(output.hidden, basis, structure, spans, view),
                                            basis_name, basis.size(1) > 1));
  section.charts.push_back(eigenvalue_chart(fit.label(), eigenvalue_rows(model, spans)));
}

}  // namespace

ReportSection fit_section(const SelectedFit& fit, const fs::path& run_dir, const DatasetView& view) {
  ReportSection section;
  section.heading = "Selected fit: " + fit.label();
  section.html = "<p>Run <code>" + html_escape(fit.id) + "</code>, test NMSE " + number(fit.test_nmse, 4) +
                 ". Files: <code>" + html_escape((run_dir / "").string()) + "</code>.</p>\n";
  if (fs::exists(run_dir / "log.csv"))
    section.charts.push_back(training_curve_chart(fit.label(), training_curve_rows(run_dir / "log.csv")));
  if (!fs::exists(run_dir / "checkpoint.pt")) {
    section.html +=
        "<p class=\"note\">No checkpoint.pt in the run directory: the charts of the fitted model are left out.</p>\n";
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

}  // namespace ltrnn
