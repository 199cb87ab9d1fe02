// Dataset loading and validation.
#include "data/dataset.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {

namespace {

const std::set<std::string> kKnownKeys{"data",         "condition",        "epoch",    "trial_id", "times",
                                       "missing",      "condition_values", "unit_ids", "session",  "session_neurons",
                                       "session_names"};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

[[noreturn]] void refuse(const std::string& where, const std::string& key, const std::string& what) {
  throw InputError(where + ", key '" + key + "': " + what);
}

void check_vector(const NpyArray& a, int64_t length, const std::string& where, const std::string& key,
                  const std::string& length_name) {
  if (a.shape.size() != 1 || a.shape[0] != length)
    refuse(where, key,
           "expected a 1-d array of length " + length_name + " = " + std::to_string(length) + ", got shape " +
               shape_text(a.shape));
}

std::vector<int64_t> integer_vector(const NpyArray& a, const std::string& where, const std::string& key) {
  if (a.is_integer()) return a.to_int64s();
  if (a.is_float()) {
    // Accept integral floats (MATLAB exports often are), refuse anything else.
    std::vector<int64_t> out;
    for (double v : a.to_doubles()) {
      if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) > 9.0e15)
        refuse(where, key, "expected integers, found the value " + std::to_string(v));
      out.push_back(static_cast<int64_t>(v));
    }
    return out;
  }
  refuse(where, key, "expected an integer array, got dtype " + a.dtype_name());
}

// The sessions of a file written with them (dataset_arrays): `session` [K], each trial's
// session 0..S-1 in order, and `session_neurons` [S], how many consecutive columns each
// session's neurons take, and optionally `session_names` [S] (else "session 1", ...).
// Neither: one session (none listed).
std::vector<SessionSpan> sessions_from_arrays(const std::map<std::string, NpyArray>& arrays, int64_t K, int64_t D,
                                              const std::string& where) {
  const auto session_it = arrays.find("session"), neurons_it = arrays.find("session_neurons");
  if (session_it == arrays.end() && neurons_it == arrays.end()) return {};
  if (session_it == arrays.end() || neurons_it == arrays.end())
    refuse(where, session_it == arrays.end() ? "session" : "session_neurons",
           "missing: 'session' and 'session_neurons' come together");
  check_vector(session_it->second, K, where, "session", "K (trials)");
  const std::vector<int64_t> session = integer_vector(session_it->second, where, "session");
  if (neurons_it->second.shape.size() != 1) refuse(where, "session_neurons", "expected a 1-D array (one per session)");
  const std::vector<int64_t> neurons = integer_vector(neurons_it->second, where, "session_neurons");
  std::vector<SessionSpan> spans;
  int64_t first_neuron = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t s = session[k], listed = static_cast<int64_t>(spans.size());
    if (s != listed - 1 && s != listed)
      refuse(where, "session",
             "expected sessions 0, 1, ... in trial order, each over consecutive trials, but trial " +
                 std::to_string(k) + " is in session " + std::to_string(s));
    if (s == listed) {
      if (s >= static_cast<int64_t>(neurons.size()) || neurons[s] < 1)
        refuse(where, "session_neurons", "expected at least one neuron for each session of 'session'");
      spans.push_back({"session " + std::to_string(s + 1), k, 0, first_neuron, neurons[s]});
      first_neuron += neurons[s];
    }
    ++spans.back().trials;
  }
  if (spans.size() != neurons.size() || first_neuron != D)
    refuse(where, "session_neurons",
           "expected one count per session (" + std::to_string(spans.size()) +
               ") adding up to D = " + std::to_string(D) + " neurons");
  if (const auto names_it = arrays.find("session_names"); names_it != arrays.end()) {
    if (names_it->second.dtype != DType::Unicode || names_it->second.shape.size() != 1 ||
        names_it->second.shape[0] != static_cast<int64_t>(spans.size()))
      refuse(where, "session_names", "expected " + std::to_string(spans.size()) + " strings, one per session");
    const std::vector<std::string> names = names_it->second.to_strings();
    for (std::size_t s = 0; s < spans.size(); ++s) spans[s].name = names[s];
  }
  return spans;
}

}  // namespace

double Dataset::bin_width() const {
  if (times.numel() < 2) return 1.0;
  return times.diff().median().item<double>();
}

NpyArray to_npy(const torch::Tensor& tensor) {
  torch::Tensor t = tensor.detach().contiguous().cpu();
  std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
  NpyArray a;
  a.shape = shape;
  switch (t.scalar_type()) {
    case torch::kFloat32:
      a.dtype = DType::Float32;
      break;
    case torch::kFloat64:
      a.dtype = DType::Float64;
      break;
    case torch::kInt64:
      a.dtype = DType::Int64;
      break;
    case torch::kInt32:
      a.dtype = DType::Int32;
      break;
    case torch::kBool:
      a.dtype = DType::Bool;
      break;
    default:
      throw std::logic_error("to_npy: unsupported tensor dtype");
  }
  a.item_size = t.element_size();
  a.bytes.resize(t.numel() * a.item_size);
  if (!a.bytes.empty()) std::memcpy(a.bytes.data(), t.data_ptr(), a.bytes.size());
  return a;
}

torch::Tensor from_npy(const NpyArray& a) {
  torch::ScalarType type;
  switch (a.dtype) {
    case DType::Float32:
      type = torch::kFloat32;
      break;
    case DType::Float64:
      type = torch::kFloat64;
      break;
    case DType::Int64:
      type = torch::kInt64;
      break;
    case DType::Int32:
      type = torch::kInt32;
      break;
    case DType::Bool:
      type = torch::kBool;
      break;
    default:
      throw std::logic_error("from_npy: unicode arrays have no tensor form");
  }
  torch::Tensor t = torch::empty(a.shape, torch::TensorOptions().dtype(type));
  if (!a.bytes.empty()) std::memcpy(t.data_ptr(), a.bytes.data(), a.bytes.size());
  return t;
}

template <>
const std::vector<std::pair<NanPolicy, std::string>>& EnumNames<NanPolicy>::table() {
  static const std::vector<std::pair<NanPolicy, std::string>> names{{NanPolicy::Error, "error"},
                                                                    {NanPolicy::Missing, "missing"}};
  return names;
}

Dataset dataset_from_arrays(const std::map<std::string, NpyArray>& arrays, const std::string& where, NanPolicy nan) {
  Dataset ds;
  // 1. data: T x K x D, numeric, finite, non-empty.
  auto data_it = arrays.find("data");
  if (data_it == arrays.end()) {
    std::string keys;
    for (const auto& [k, v] : arrays) keys += (keys.empty() ? "" : ", ") + k;
    throw InputError(
        where + ": missing required key 'data' (a T x K x D array); keys present: " + (keys.empty() ? "none" : keys));
  }
  const NpyArray& data = data_it->second;
  if (data.dtype == DType::Unicode) refuse(where, "data", "expected a numeric array, got dtype " + data.dtype_name());
  if (data.shape.size() != 3)
    refuse(where, "data", "expected 3 dimensions (time x trial x neuron), got shape " + shape_text(data.shape));
  for (int64_t s : data.shape)
    if (s < 1) refuse(where, "data", "expected every dimension >= 1, got shape " + shape_text(data.shape));
  const int64_t T = data.shape[0], K = data.shape[1], D = data.shape[2];
  ds.counts = data.dtype == DType::Int32 || data.dtype == DType::Int64;
  ds.data = from_npy(data).to(torch::kFloat64);
  // missing: T x K x D bool, true = not observed; those entries are set to 0 and never used.
  if (auto it = arrays.find("missing"); it != arrays.end()) {
    if (it->second.dtype != DType::Bool)
      refuse(where, "missing", "expected a bool array (true = not observed), got dtype " + it->second.dtype_name());
    if (it->second.shape != data.shape)
      refuse(where, "missing",
             "expected the shape of 'data' " + shape_text(data.shape) + ", got " + shape_text(it->second.shape));
    ds.missing = from_npy(it->second);
    ds.data = ds.data.masked_fill(ds.missing, 0.0);
  }
  // NaN as not observed, when asked: joins the missing mask (with the file's own).
  if (nan == NanPolicy::Missing) {
    const torch::Tensor is_nan = torch::isnan(ds.data);
    if (is_nan.any().item<bool>()) {
      ds.missing = ds.missing.defined() ? (ds.missing | is_nan) : is_nan;
      ds.data = ds.data.masked_fill(is_nan, 0.0);
      ds.notes.push_back(std::to_string(is_nan.sum().item<int64_t>()) + " NaN entries of 'data' are missing entries");
    }
  }
  if (!torch::isfinite(ds.data).all().item<bool>()) {
    const int64_t nans = torch::isnan(ds.data).sum().item<int64_t>();
    const int64_t infs = (~torch::isfinite(ds.data)).sum().item<int64_t>() - nans;
    std::string what =
        "expected finite values, found " + std::to_string(nans) + " NaN and " + std::to_string(infs) + " Inf entries";
    if (nans > 0)
      what +=
          "; if NaN marks entries that were not observed, pass --nan-as-missing (in an experiment: "
          "\"preprocess\": {\"nan\": \"missing\"})";
    refuse(where, "data", what);
  }
  if (ds.counts && (ds.data < 0).any().item<bool>())
    refuse(where, "data", "integer data are read as spike counts and must be >= 0");

  // 2. condition: K integers (default all zero), relabelled 0..C-1.
  std::vector<int64_t> condition(K, 0);
  if (auto it = arrays.find("condition"); it != arrays.end()) {
    check_vector(it->second, K, where, "condition", "K (trials)");
    condition = integer_vector(it->second, where, "condition");
  }
  std::set<int64_t> labels(condition.begin(), condition.end());
  ds.condition_labels.assign(labels.begin(), labels.end());
  std::vector<int64_t> condition_index(K);
  for (int64_t k = 0; k < K; ++k)
    condition_index[k] = std::lower_bound(ds.condition_labels.begin(), ds.condition_labels.end(), condition[k]) -
                         ds.condition_labels.begin();
  ds.condition = torch::tensor(condition_index, torch::kInt64);

  // 3. epoch: K integers or strings (default all zero), indexed in order of first appearance.
  std::vector<std::string> epoch_text(K, "0");
  if (auto it = arrays.find("epoch"); it != arrays.end()) {
    check_vector(it->second, K, where, "epoch", "K (trials)");
    if (it->second.dtype == DType::Unicode) {
      epoch_text = it->second.to_strings();
    } else {
      const auto values = integer_vector(it->second, where, "epoch");
      for (int64_t k = 0; k < K; ++k) epoch_text[k] = std::to_string(values[k]);
    }
  }
  std::vector<int64_t> epoch_index(K);
  for (int64_t k = 0; k < K; ++k) {
    auto pos = std::find(ds.epoch_labels.begin(), ds.epoch_labels.end(), epoch_text[k]);
    if (pos == ds.epoch_labels.end()) pos = ds.epoch_labels.insert(ds.epoch_labels.end(), epoch_text[k]);
    epoch_index[k] = pos - ds.epoch_labels.begin();
  }
  ds.epoch = torch::tensor(epoch_index, torch::kInt64);

  // 4. trial_id: K strictly increasing integers (default arange(K)); gaps allowed.
  std::vector<int64_t> trial_id(K);
  for (int64_t k = 0; k < K; ++k) trial_id[k] = k;
  if (auto it = arrays.find("trial_id"); it != arrays.end()) {
    check_vector(it->second, K, where, "trial_id", "K (trials)");
    trial_id = integer_vector(it->second, where, "trial_id");
    for (int64_t k = 1; k < K; ++k)
      if (trial_id[k] <= trial_id[k - 1])
        refuse(where, "trial_id",
               "expected strictly increasing values (trials in session order), but entry " + std::to_string(k) +
                   " is " + std::to_string(trial_id[k]) + " after " + std::to_string(trial_id[k - 1]));
  }
  ds.trial_id = torch::tensor(trial_id, torch::kInt64);

  // 5. times: T finite, strictly increasing floats (default linspace(0, 1, T)).
  ds.times = torch::linspace(0.0, 1.0, T, torch::kFloat64);
  if (auto it = arrays.find("times"); it != arrays.end()) {
    check_vector(it->second, T, where, "times", "T (time bins)");
    if (it->second.dtype == DType::Unicode)
      refuse(where, "times", "expected numbers, got dtype " + it->second.dtype_name());
    const auto values = it->second.to_doubles();
    for (std::size_t t = 0; t < values.size(); ++t) {
      if (!std::isfinite(values[t]))
        refuse(where, "times", "expected finite values, entry " + std::to_string(t) + " is not");
      if (t > 0 && values[t] <= values[t - 1])
        refuse(where, "times", "expected strictly increasing values, entry " + std::to_string(t) + " is not");
    }
    ds.times = torch::tensor(values, torch::kFloat64);
  }

  // 6. session, session_neurons: recording sessions side by side (data/sessions.h).
  ds.sessions = sessions_from_arrays(arrays, K, D, where);

  // 7. Name every key we ignore, so a misspelt key does not pass silently.
  std::string ignored;
  for (const auto& [key, value] : arrays)
    if (!kKnownKeys.count(key)) ignored += (ignored.empty() ? "'" : ", '") + key + "'";
  if (!ignored.empty()) ds.notes.push_back(where + ": ignoring keys outside the data format: " + ignored);
  return ds;
}

Dataset load_dataset(const std::filesystem::path& path, NanPolicy nan) {
  const std::string where = shortened_path(path);
  if (const auto why = unreadable_file(path)) throw InputError(where + ": " + *why);
  const std::string ext = path.extension().string();
  if (ext == ".npy") return dataset_from_arrays({{"data", read_npy(path)}}, where, nan);
  if (ext == ".npz") return dataset_from_arrays(read_npz(path), where, nan);
  throw InputError(where + ": expected a .npz or .npy file");
}

NpzContents dataset_arrays(const Dataset& ds) {
  std::vector<int64_t> condition_values;
  for (int64_t c :
       std::vector<int64_t>(ds.condition.data_ptr<int64_t>(), ds.condition.data_ptr<int64_t>() + ds.condition.numel()))
    condition_values.push_back(ds.condition_labels[c]);
  std::vector<std::string> epochs;
  for (int64_t k = 0; k < ds.epoch.numel(); ++k) epochs.push_back(ds.epoch_labels[ds.epoch[k].item<int64_t>()]);
  NpzContents arrays{{"data", to_npy(ds.counts ? ds.data.round().to(torch::kInt64) : ds.data)},
                     {"condition", NpyArray::from_int64s({ds.n_trials()}, condition_values)},
                     {"epoch", NpyArray::from_strings({ds.n_trials()}, epochs)},
                     {"trial_id", to_npy(ds.trial_id)},
                     {"times", to_npy(ds.times)}};
  if (ds.missing.defined()) arrays.emplace_back("missing", to_npy(ds.missing));
  if (!ds.sessions.empty()) {
    std::vector<int64_t> session(ds.n_trials()), neurons;
    std::vector<std::string> names;
    for (std::size_t s = 0; s < ds.sessions.size(); ++s) {
      const SessionSpan& span = ds.sessions[s];
      std::fill_n(session.begin() + span.first_trial, span.trials, static_cast<int64_t>(s));
      neurons.push_back(span.neurons);
      names.push_back(span.name);
    }
    const int64_t S = static_cast<int64_t>(neurons.size());
    arrays.emplace_back("session", NpyArray::from_int64s({ds.n_trials()}, session));
    arrays.emplace_back("session_neurons", NpyArray::from_int64s({S}, neurons));
    arrays.emplace_back("session_names", NpyArray::from_strings({S}, names));
  }
  return arrays;
}

}  // namespace ltrnn
