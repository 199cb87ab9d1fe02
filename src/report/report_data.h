// What the report reads besides the results: the dataset as the models saw it, per-trial
// labels, and small conversions shared by the report's sections.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "io/npy.h"
#include "spec/experiment.h"

namespace ltrnn {

constexpr int64_t kConditionsShown = 8;  // at most this many condition columns per chart

struct DatasetView {
  bool loaded = false;
  std::filesystem::path path;
  std::string note;                       // why it could not be loaded
  Dataset data;                           // preprocessed, as the models were fitted to it
  std::string activity_unit;              // for axis titles
  std::map<std::string, NpyArray> reach;  // hand [T, K, 2], lateral_deviation [K] when present
};

// The dataset an output directory's experiment.json names (or its generated dataset.npz),
// preprocessed as the experiment says; a note instead when it cannot be read.
DatasetView load_dataset_view(const Experiment& experiment, const std::filesystem::path& out_dir);
// The epoch label of each trial: the dataset's labels, or "epoch <index>" without them.
std::vector<std::string> epoch_of_trial(const torch::Tensor& epoch, const DatasetView& view);
std::string condition_name(const DatasetView& view, int64_t c);
// Per condition (at most kConditionsShown), the first and the last trial of [first, last].
std::vector<std::pair<int64_t, std::string>> first_and_last_per_condition(const std::vector<int64_t>& condition,
                                                                          int64_t first, int64_t last,
                                                                          const std::string& first_label,
                                                                          const std::string& last_label);

std::vector<double> doubles(const torch::Tensor& tensor);
std::vector<int64_t> int64s(const torch::Tensor& tensor);
// `value` with `digits` significant digits ("–" when not finite); with `decimals` decimals.
std::string number(double value, int digits = 3);
std::string fixed(double value, int decimals);

}  // namespace ltrnn
