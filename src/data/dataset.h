// The learning dataset: activity Y[t, k, i] plus per-trial and per-bin labels (docs/design.md section 7).
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/npy.h"
#include "util/fields.h"

namespace ltrnn {

// Where a recording session lies in a dataset of several (data/sessions.h): its trials
// [first_trial, first_trial + trials) and its neurons' columns; every entry of its neurons
// on another session's trials is missing.
struct SessionSpan {
  std::string name;  // how errors and results name it (its file, or "session 2")
  int64_t first_trial = 0, trials = 0;
  int64_t first_neuron = 0, neurons = 0;
};

struct Dataset {
  torch::Tensor data;                     // Y [T, K, D], float64 (cast to the model's dtype when fitting)
  torch::Tensor condition;                // [K] int64, condition index in 0..C-1 (sorted order of condition_labels)
  std::vector<int64_t> condition_labels;  // [C] the file's condition values
  torch::Tensor epoch;                    // [K] int64, epoch index in order of first appearance
  std::vector<std::string> epoch_labels;  // [E] the file's epoch values, as text
  torch::Tensor trial_id;                 // [K] int64, strictly increasing position in the session
  torch::Tensor times;                    // [T] float64, strictly increasing (seconds; t < 0 is preparatory)
  bool counts = false;                    // data were integer spike counts
  // [T, K, D] bool, true = not observed (e.g. a unit outside its recording intervals):
  // in neither the training nor the test set, never scored. Undefined: all observed.
  torch::Tensor missing;
  std::vector<std::string> notes;  // things the loader wants the user to know (ignored keys, ...)
  // Recording sessions side by side, in trial order (files: the keys `session` [K] and
  // `session_neurons` [S]); empty: one session.
  std::vector<SessionSpan> sessions;

  int64_t n_bins() const { return data.size(0); }
  int64_t n_trials() const { return data.size(1); }
  int64_t n_neurons() const { return data.size(2); }
  int64_t n_conditions() const { return static_cast<int64_t>(condition_labels.size()); }
  double bin_width() const;  // median spacing of `times`
};

// What NaN in a float `data` array means: an error (the default), or a missing entry
// (preprocess.nan "missing", `--nan-as-missing`). Inf is always an error.
enum class NanPolicy { Error, Missing };
template <>
const std::vector<std::pair<NanPolicy, std::string>>& EnumNames<NanPolicy>::table();

// Loads a .npz (keys data, condition, epoch, trial_id, times, missing, session,
// session_neurons) or a bare .npy (data only).
// Malformed input throws InputError naming the file, the key and what was expected.
Dataset load_dataset(const std::filesystem::path& path, NanPolicy nan = NanPolicy::Error);
// Builds a dataset from decoded arrays; `where` names the source in errors.
Dataset dataset_from_arrays(const std::map<std::string, NpyArray>& arrays, const std::string& where,
                            NanPolicy nan = NanPolicy::Error);
// The dataset's own arrays (data as float64, or int64 when counts), in the data file's key names.
NpzContents dataset_arrays(const Dataset& dataset);

// Tensor <-> NpyArray (float32/float64/int64/bool tensors, C order).
NpyArray to_npy(const torch::Tensor& tensor);
torch::Tensor from_npy(const NpyArray& array);

}  // namespace ltrnn
