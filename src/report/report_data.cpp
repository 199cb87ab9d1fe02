// The dataset view and the shared helpers of the report.
#include "report/report_data.h"

#include <torch/torch.h>

#include <cmath>
#include <iomanip>
#include <sstream>

#include "data/preprocess.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

std::string number(double value, int digits) {
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

DatasetView load_dataset_view(const Experiment& experiment, const fs::path& out_dir) {
  DatasetView view;
  view.path = dataset_file(experiment) ? *dataset_file(experiment) : out_dir / "dataset.npz";
  try {
    const Dataset raw = load_dataset(view.path, experiment.preprocess.nan);
    // Sessions were preprocessed one by one before dataset.npz was written.
    view.data =
        std::holds_alternative<DatasetSessions>(experiment.dataset) ? raw : preprocess(raw, experiment.preprocess);
    view.activity_unit = experiment.preprocess.zscore ? "z-score" : raw.counts ? "spike count per bin" : "data units";
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

// The epoch label of each trial: the dataset's labels, or "epoch <index>" without them; with
// several recording sessions prefixed by the session's file name, so that the charts over
// trials shade (and label) each session's epochs apart.
std::vector<std::string> epoch_of_trial(const torch::Tensor& epoch, const DatasetView& view) {
  std::vector<std::string> labels;
  for (int64_t e : int64s(epoch))
    labels.push_back(view.loaded && e < static_cast<int64_t>(view.data.epoch_labels.size())
                         ? view.data.epoch_labels[e]
                         : "epoch " + std::to_string(e));
  if (!view.loaded) return labels;
  for (const SessionSpan& span : view.data.sessions) {
    const std::string session = fs::path(span.name).stem().string();
    for (int64_t k = span.first_trial; k < span.first_trial + span.trials && k < static_cast<int64_t>(labels.size());
         ++k)
      labels[k] = session + " " + labels[k];
  }
  return labels;
}

std::string condition_name(const DatasetView& view, int64_t c) {
  const bool labelled = view.loaded && c < static_cast<int64_t>(view.data.condition_labels.size());
  return "condition " + std::to_string(labelled ? view.data.condition_labels[c] : c);
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

}  // namespace ltrnn
