// Several recording sessions as one dataset.
#include "data/sessions.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "data/masks.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

std::string grid_text(const Dataset& d) {
  std::ostringstream text;
  text << d.n_bins() << " bins";
  if (d.n_bins() > 0) text << " from t = " << d.times[0].item<double>() << " s, " << d.bin_width() << " s apart";
  return text.str();
}

// Every session's bins must be the first session's: the latent network runs on one time grid.
void check_same_time_grid(const Session& first, const Session& session) {
  const torch::Tensor& a = first.dataset.times;
  const torch::Tensor& b = session.dataset.times;
  const bool same =
      a.size(0) == b.size(0) && (a.size(0) == 0 || ((a - b).abs() <= 1e-9 * (1.0 + a.abs())).all().item<bool>());
  if (!same)
    throw InputError(session.name + ": its time grid (" + grid_text(session.dataset) + ") differs from " + first.name +
                     "'s (" + grid_text(first.dataset) + "); sessions share one time grid");
}

void check_session(const Session& first, const Session& session) {
  if (session.dataset.n_trials() == 0) throw InputError(session.name + ": no trials (a session needs at least one)");
  if (session.dataset.n_neurons() == 0) throw InputError(session.name + ": no neurons");
  check_same_time_grid(first, session);
  if (session.dataset.counts != first.dataset.counts)
    throw InputError(session.name + ": " + (session.dataset.counts ? "spike counts" : "rates") + ", but " + first.name +
                     " holds " + (first.dataset.counts ? "spike counts" : "rates") +
                     "; the sessions of one fit share a loss");
}

// One label, one meaning, over the sessions that say what their labels mean.
void check_condition_meanings(const std::vector<Session>& sessions) {
  std::map<int64_t, std::pair<std::string, std::string>> meaning_of;  // label -> (value, session)
  std::map<std::string, std::pair<int64_t, std::string>> label_of;    // value -> (label, session)
  const auto quoted = [](const std::string& text) { return "\"" + text + "\""; };
  for (const Session& session : sessions) {
    const std::vector<int64_t>& labels = session.dataset.condition_labels;
    if (session.condition_values.empty()) continue;
    if (session.condition_values.size() != labels.size())
      throw InputError(session.name + "/condition_values: " + std::to_string(session.condition_values.size()) +
                       " values for " + std::to_string(labels.size()) + " condition labels");
    for (std::size_t c = 0; c < labels.size(); ++c) {
      const std::string& value = session.condition_values[c];
      const auto [meaning, fresh] = meaning_of.emplace(labels[c], std::make_pair(value, session.name));
      if (!fresh && meaning->second.first != value)
        throw InputError(session.name + ": condition " + std::to_string(labels[c]) + " is " + quoted(value) +
                         " here but " + quoted(meaning->second.first) + " in " + meaning->second.second +
                         "; sessions are matched by condition label, so a label must mean one condition in every "
                         "session (write the files with the same labels for the same conditions)");
      const auto [label, new_value] = label_of.emplace(value, std::make_pair(labels[c], session.name));
      if (!new_value && label->second.first != labels[c])
        throw InputError(session.name + ": condition " + quoted(value) + " has label " + std::to_string(labels[c]) +
                         " here but " + std::to_string(label->second.first) + " in " + label->second.second +
                         "; sessions are matched by condition label, so one condition needs one label in every "
                         "session");
    }
  }
}

// Index of `value` in the sorted `labels`.
int64_t label_index(const std::vector<int64_t>& labels, int64_t value) {
  return std::lower_bound(labels.begin(), labels.end(), value) - labels.begin();
}

}  // namespace

torch::indexing::Slice session_trials(const SessionSpan& span) {
  return torch::indexing::Slice(span.first_trial, span.first_trial + span.trials);
}

torch::indexing::Slice session_neurons(const SessionSpan& span) {
  return torch::indexing::Slice(span.first_neuron, span.first_neuron + span.neurons);
}

std::vector<torch::indexing::TensorIndex> session_block(const SessionSpan& span) {
  return {torch::indexing::Slice(), session_trials(span), session_neurons(span)};
}

MergedSessions merge_sessions(const std::vector<Session>& sessions, int64_t gap_trials) {
  if (sessions.empty()) throw InputError("/dataset/sessions: no sessions");
  if (gap_trials < 0) throw InputError("/dataset/session_gap: must be >= 0 trials");
  for (const Session& session : sessions) check_session(sessions.front(), session);
  check_condition_meanings(sessions);

  // 1. Where each session goes, and the merged labels.
  MergedSessions merged;
  int64_t trials = 0, neurons = 0;
  std::vector<int64_t> conditions;
  std::vector<std::string> epochs;
  for (const Session& session : sessions) {
    const Dataset& d = session.dataset;
    merged.spans.push_back({session.name, trials, d.n_trials(), neurons, d.n_neurons()});
    trials += d.n_trials();
    neurons += d.n_neurons();
    conditions.insert(conditions.end(), d.condition_labels.begin(), d.condition_labels.end());
    for (const std::string& label : d.epoch_labels)
      if (std::find(epochs.begin(), epochs.end(), label) == epochs.end()) epochs.push_back(label);
  }
  std::sort(conditions.begin(), conditions.end());
  conditions.erase(std::unique(conditions.begin(), conditions.end()), conditions.end());

  // 2. The blocks: each session's data and labels in its rows and columns; every entry
  //    outside a session's own block is missing.
  const Dataset& first = sessions.front().dataset;
  const int64_t T = first.n_bins();
  Dataset& out = merged.dataset;
  out.data = torch::zeros({T, trials, neurons}, torch::kFloat64);
  out.missing = torch::ones({T, trials, neurons}, torch::kBool);
  out.condition = torch::empty({trials}, torch::kInt64);
  out.epoch = torch::empty({trials}, torch::kInt64);
  out.trial_id = torch::empty({trials}, torch::kInt64);
  out.times = first.times.clone();
  out.counts = first.counts;
  out.condition_labels = conditions;
  out.epoch_labels = epochs;
  int64_t next_trial_id = 0;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const Dataset& d = sessions[s].dataset;
    const SessionSpan& span = merged.spans[s];
    const auto rows = session_trials(span);
    const auto block = session_block(span);
    out.data.index_put_(block, d.data.to(torch::kFloat64));
    out.missing.index_put_(block, d.missing.defined() ? d.missing : torch::zeros_like(d.data, torch::kBool));
    // Labels by value (conditions) or text (epochs), not by the session's own indices.
    torch::Tensor condition = torch::empty({span.trials}, torch::kInt64), epoch = torch::empty_like(condition);
    for (int64_t k = 0; k < span.trials; ++k) {
      condition[k] = label_index(conditions, d.condition_labels.at(d.condition[k].item<int64_t>()));
      const std::string& label = d.epoch_labels.at(d.epoch[k].item<int64_t>());
      epoch[k] = static_cast<int64_t>(std::find(epochs.begin(), epochs.end(), label) - epochs.begin());
    }
    out.condition.index_put_({rows}, condition);
    out.epoch.index_put_({rows}, epoch);
    // Trial ids continue after the previous session's last id and the unrecorded gap.
    const int64_t shift = s == 0 ? 0 : next_trial_id + gap_trials - d.trial_id[0].item<int64_t>();
    out.trial_id.index_put_({rows}, d.trial_id + shift);
    next_trial_id = d.trial_id[-1].item<int64_t>() + shift + 1;
    for (const std::string& note : d.notes) out.notes.push_back(sessions[s].name + ": " + note);
  }
  out.sessions = merged.spans;
  return merged;
}

std::vector<std::string> condition_values_of(const std::filesystem::path& file, const Dataset& dataset) {
  if (file.extension() != ".npz") return {};
  const std::map<std::string, NpyArray> arrays = read_npz(file);
  const auto found = arrays.find("condition_values");
  if (found == arrays.end()) return {};
  std::vector<std::string> values;
  try {
    values = found->second.to_strings();
  } catch (const std::exception&) {
    throw InputError(file.string() + "/condition_values: expected text, one per condition label");
  }
  if (values.size() != dataset.condition_labels.size())
    throw InputError(file.string() + "/condition_values: " + std::to_string(values.size()) + " values for " +
                     std::to_string(dataset.condition_labels.size()) + " condition labels");
  return values;
}

Dataset session_dataset(const Dataset& merged, const SessionSpan& span) {
  const auto rows = session_trials(span);
  const auto block = session_block(span);
  Dataset d;
  d.data = merged.data.index(block).clone();
  if (merged.missing.defined()) {
    d.missing = merged.missing.index(block).clone();
    if (!d.missing.any().item<bool>()) d.missing = torch::Tensor();
  }
  d.condition = merged.condition.index({rows}).clone();
  d.condition_labels = merged.condition_labels;
  d.epoch = merged.epoch.index({rows}).clone();
  d.epoch_labels = merged.epoch_labels;
  d.trial_id = merged.trial_id.index({rows}).clone();
  d.times = merged.times.clone();
  d.counts = merged.counts;
  return d;
}

Masks make_dataset_masks(const Dataset& dataset, const MaskConfig& config) {
  if (dataset.sessions.empty())
    return without_missing(make_masks(dataset.n_bins(), dataset.n_trials(), dataset.n_neurons(), config),
                           dataset.missing);
  using torch::indexing::Slice;
  const int64_t T = dataset.n_bins(), K = dataset.n_trials(), D = dataset.n_neurons();
  Masks masks;
  masks.train = torch::zeros({T, K, D}, torch::kBool);
  masks.validation = torch::zeros({T, K, D}, torch::kBool);
  masks.test = torch::zeros({T, K, D}, torch::kBool);
  for (std::size_t s = 0; s < dataset.sessions.size(); ++s) {
    const SessionSpan& span = dataset.sessions[s];
    MaskConfig own = config;
    own.seed = config.seed + static_cast<int64_t>(s);  // each session its own draw
    Masks session;
    try {
      session = make_masks(T, span.trials, span.neurons, own);
    } catch (const InputError& error) {
      throw InputError(span.name + ": " + error.what());
    }
    masks.whole_trials = session.whole_trials;
    const auto block = session_block(span);
    masks.train.index_put_(block, session.train);
    masks.validation.index_put_(block, session.validation);
    masks.test.index_put_(block, session.test);
  }
  return without_missing(masks, dataset.missing);
}

}  // namespace ltrnn
