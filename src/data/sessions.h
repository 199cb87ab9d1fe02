// Several recording sessions as one dataset (docs/design.md section 7, "Sessions").
//
// The latent network is shared by every session and only the readout is a session's own
// (one row per recorded neuron), so the sessions are laid side by side: session s's trials
// follow session s-1's on the trial axis, its neurons get their own columns, and the entries
// of a neuron on another session's trials are missing (never trained on or scored). One
// linear readout over all columns is then a readout per session (an orthonormal readout
// would tie the sessions' rows together), and every fit, mask and score of a single dataset
// applies unchanged.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/masks.h"

namespace ltrnn {

struct Session {
  std::string name;  // how errors and results name it (e.g. its file)
  Dataset dataset;
  // What each of the dataset's condition labels stands for ([C], in the order of
  // condition_labels: an NWB import's condition column values, or a file's
  // `condition_values`); empty: not known.
  std::vector<std::string> condition_values;
};

struct MergedSessions {
  Dataset dataset;                 // its `sessions` are the spans
  std::vector<SessionSpan> spans;  // in session order
};

// A session's trials and its neurons' columns as index slices, and its block [:, trials,
// neurons] of a [T, K, D] array.
torch::indexing::Slice session_trials(const SessionSpan& span);
torch::indexing::Slice session_neurons(const SessionSpan& span);
std::vector<torch::indexing::TensorIndex> session_block(const SessionSpan& span);

// Merges the sessions in the order given. Condition labels are matched by value (the merged
// labels are their sorted union) and epoch labels by text (in order of first appearance);
// each session's trial ids are shifted to follow the previous session's last id after
// `gap_trials` trials that were not recorded (the trial-factor prior's distance; >= 0).
// Refused with an InputError naming the session: no sessions, a session without trials or
// neurons, a time grid (bins, times) other than the first session's, or spike counts beside
// rates, and conflicting condition labels: one label that two sessions' condition_values
// give different meanings, or one meaning under two labels (an NWB import numbers
// non-integer conditions by position, so sessions with different condition sets would
// otherwise be matched wrongly).
MergedSessions merge_sessions(const std::vector<Session>& sessions, int64_t gap_trials);

// A data file's `condition_values` [C] (empty without the key). InputError naming the file
// and key when it is not one text per condition label.
std::vector<std::string> condition_values_of(const std::filesystem::path& file, const Dataset& dataset);

// One session of a merged dataset: its trials and its neurons' columns, with the merged
// labels (condition and epoch indices as in the merged dataset) and trial ids.
Dataset session_dataset(const Dataset& merged, const SessionSpan& span);

// The cross-validation masks of a dataset, without its missing entries: make_masks over the
// whole dataset, or with several sessions each session's own draw over its trials and
// neurons (seed + its index), so that every session has its test and validation entries.
// InputError naming the session when its masks cannot be drawn.
Masks make_dataset_masks(const Dataset& dataset, const MaskConfig& config);

}  // namespace ltrnn
