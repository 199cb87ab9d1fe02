// NWB import: the units and trials tables of an NWB 2.x file binned into a dataset.
// Layout (NWB 2.x schema, DynamicTable): /units/{id, spike_times, spike_times_index,
// obs_intervals, obs_intervals_index, <columns>}; /intervals/trials/{id, start_time,
// stop_time, <columns>}. A ragged column X has a sibling X_index of end offsets.
#include "data/nwb.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "io/hdf5.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

const std::string kUnits = "/units";
const std::string kTrials = "/intervals/trials";

// A table column as text (strings as they are; numbers in a form that compares equal to
// the user's text for integers) and, when numeric, as numbers.
struct Column {
  std::string path;
  bool numeric = false;
  std::vector<double> numbers;
  std::vector<std::string> text;
  std::size_t size() const { return numeric ? numbers.size() : text.size(); }
};

std::string number_text(double value) {
  if (std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// Reads column `name` of `table`, checking its length; ragged and other columns are refused
// by name.
Column read_column(const Hdf5File& file, const std::string& table, const std::string& name, std::size_t rows,
                   const std::string& role) {
  Column column;
  column.path = table + "/" + name;
  if (!file.is_dataset(column.path)) {
    std::string columns;
    if (file.is_group(table))
      for (const std::string& member : file.members(table))
        if (file.is_dataset(table + "/" + member) && member != "id" && member.find("_index") == std::string::npos)
          columns += (columns.empty() ? "" : ", ") + member;
    throw InputError(file.where(column.path) + ": no such column (" + role +
                     "); the table's columns are: " + (columns.empty() ? "none" : columns));
  }
  if (file.is_dataset(column.path + "_index"))
    throw InputError(file.where(column.path) + ": a ragged column (it has " + name +
                     "_index); expected one value per row for " + role);
  const std::vector<int64_t> shape = file.shape(column.path);
  if (shape.size() != 1) throw InputError(file.where(column.path) + ": expected one value per row for " + role);
  switch (file.kind(column.path)) {
    case Hdf5File::Kind::Integer:
    case Hdf5File::Kind::Float:
      column.numeric = true;
      column.numbers = file.read_doubles(column.path);
      for (double v : column.numbers) column.text.push_back(number_text(v));
      break;
    case Hdf5File::Kind::String:
      column.text = file.read_strings(column.path);
      break;
    default:
      throw InputError(file.where(column.path) + ": expected numbers or strings for " + role +
                       " (references and compound columns are not supported)");
  }
  if (column.size() != rows)
    throw InputError(file.where(column.path) + ": " + std::to_string(column.size()) + " rows, but the table has " +
                     std::to_string(rows));
  return column;
}

// Whether row `i` of `column` equals the user's `value` (numerically for numeric columns).
bool matches(const Column& column, std::size_t i, const std::string& value) {
  if (!column.numeric) return column.text[i] == value;
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  return end != value.c_str() && *end == '\0' && column.numbers[i] == number;
}

// Rows whose columns equal the wanted values (all of them).
class RowFilter {
 public:
  RowFilter(const Hdf5File& file, const std::string& table, const std::map<std::string, std::string>& where,
            std::size_t rows, const std::string& role) {
    for (const auto& [name, value] : where) conditions_.emplace_back(read_column(file, table, name, rows, role), value);
  }
  bool keeps(std::size_t row) const {
    return std::all_of(conditions_.begin(), conditions_.end(),
                       [&](const auto& condition) { return matches(condition.first, row, condition.second); });
  }

 private:
  std::vector<std::pair<Column, std::string>> conditions_;
};

// The ragged index of `data`: row i owns [ends[i-1], ends[i]). Checked against its length.
std::vector<int64_t> ragged_ends(const Hdf5File& file, const std::string& index, std::size_t rows, int64_t length) {
  if (!file.is_dataset(index)) throw InputError(file.where(index) + ": not found (the ragged index of its column)");
  const std::vector<int64_t> ends = file.read_int64s(index);
  if (ends.size() != rows)
    throw InputError(file.where(index) + ": " + std::to_string(ends.size()) + " entries, but the table has " +
                     std::to_string(rows) + " rows");
  for (std::size_t i = 0; i < ends.size(); ++i) {
    if (ends[i] < (i ? ends[i - 1] : 0))
      throw InputError(file.where(index) + ": not monotone (entry " + std::to_string(i) + " is " +
                       std::to_string(ends[i]) + " after " + std::to_string(i ? ends[i - 1] : 0) + ")");
    if (ends[i] > length)
      throw InputError(file.where(index) + ": entry " + std::to_string(i) + " (" + std::to_string(ends[i]) +
                       ") is beyond the " + std::to_string(length) + " values it indexes");
  }
  return ends;
}

std::size_t table_rows(const Hdf5File& file, const std::string& table, const std::string& what) {
  if (!file.is_group(table)) throw InputError(file.where(table) + ": not found (expected the " + what + " table)");
  if (!file.is_dataset(table + "/id")) throw InputError(file.where(table + "/id") + ": not found (the table's ids)");
  const std::vector<int64_t> shape = file.shape(table + "/id");
  if (shape.size() != 1) throw InputError(file.where(table + "/id") + ": expected a 1-D dataset");
  return static_cast<std::size_t>(shape[0]);
}

int64_t bin_count(const NwbImportOptions& o) {
  return static_cast<int64_t>(std::llround((o.window_stop - o.window_start) / o.bin_width));
}

// The kept trials: their rows, event times, conditions and epochs.
struct KeptTrials {
  std::vector<std::size_t> rows;
  std::vector<double> events;
  std::vector<int64_t> condition;  // index into condition_values
  std::vector<std::string> condition_values;
  std::vector<int64_t> condition_labels;
  std::vector<std::string> epoch;  // label per kept trial
  std::vector<int64_t> ids;
};

KeptTrials select_trials(const Hdf5File& file, const NwbImportOptions& o, NwbImport& summary) {
  const std::size_t rows = table_rows(file, kTrials, "trials");
  summary.trials_total = static_cast<int64_t>(rows);
  const std::vector<int64_t> ids = file.read_int64s(kTrials + "/id");
  const Column event = read_column(file, kTrials, o.align, rows, "the event to align to");
  if (!event.numeric) throw InputError(file.where(event.path) + ": expected event times in seconds (numbers)");
  const RowFilter filter(file, kTrials, o.trials_where, rows, "a trials filter");
  const Column condition =
      o.condition.empty() ? Column{} : read_column(file, kTrials, o.condition, rows, "the condition");
  const Column epoch = o.epoch.empty() ? Column{} : read_column(file, kTrials, o.epoch, rows, "the epoch");
  const Column start =
      o.epochs.empty() ? Column{} : read_column(file, kTrials, "start_time", rows, "the epoch boundaries");
  if (!o.epochs.empty() && !start.numeric)  // compared with the boundaries below
    throw InputError(file.where(start.path) + ": expected start times in seconds (numbers)");
  KeptTrials kept;
  for (std::size_t i = 0; i < rows; ++i) {
    if (!filter.keeps(i)) {
      ++summary.trials_dropped_where;
      continue;
    }
    if (!std::isfinite(event.numbers[i])) {
      ++summary.trials_dropped_no_event;
      continue;
    }
    std::string label;
    if (!o.epochs.empty()) {
      for (const auto& [name, from] : o.epochs)
        if (start.numbers[i] >= from) label = name;
      if (label.empty()) {
        ++summary.trials_dropped_before_epochs;
        continue;
      }
    } else {
      label = o.epoch.empty() ? "0" : epoch.text[i];
    }
    kept.rows.push_back(i);
    kept.events.push_back(event.numbers[i]);
    kept.epoch.push_back(label);
    kept.ids.push_back(ids[i]);
  }
  if (kept.rows.empty())
    throw InputError(o.file.string() + ": no trial kept (" + std::to_string(summary.trials_dropped_where) +
                     " left out by the trials filter, " + std::to_string(summary.trials_dropped_no_event) +
                     " without an event time, " + std::to_string(summary.trials_dropped_before_epochs) +
                     " before the first epoch)");
  for (std::size_t k = 1; k < kept.ids.size(); ++k)
    if (kept.ids[k] <= kept.ids[k - 1])
      throw InputError(file.where(kTrials + "/id") + ": expected increasing trial ids in session order");

  // Conditions: ids are the positions of the values in sorted order (numbers numerically).
  std::vector<std::size_t> order;
  if (!o.condition.empty()) {
    std::vector<std::size_t> distinct;
    for (std::size_t r : kept.rows) {
      const bool seen = std::any_of(distinct.begin(), distinct.end(),
                                    [&](std::size_t d) { return condition.text[d] == condition.text[r]; });
      if (!seen) distinct.push_back(r);
    }
    std::sort(distinct.begin(), distinct.end(), [&](std::size_t a, std::size_t b) {
      return condition.numeric ? condition.numbers[a] < condition.numbers[b] : condition.text[a] < condition.text[b];
    });
    bool integers = condition.numeric;
    for (std::size_t d : distinct) {
      kept.condition_values.push_back(condition.text[d]);
      // Labels are int64: whole numbers beyond 10^15 (or infinite) get positional labels too.
      integers =
          integers && condition.numbers[d] == std::round(condition.numbers[d]) && std::abs(condition.numbers[d]) < 1e15;
    }
    for (std::size_t c = 0; c < distinct.size(); ++c)
      kept.condition_labels.push_back(integers ? static_cast<int64_t>(condition.numbers[distinct[c]])
                                               : static_cast<int64_t>(c));
    for (std::size_t r : kept.rows)
      kept.condition.push_back(
          std::find(kept.condition_values.begin(), kept.condition_values.end(), condition.text[r]) -
          kept.condition_values.begin());
  } else {
    kept.condition_values = {"0"};
    kept.condition_labels = {0};
    kept.condition.assign(kept.rows.size(), 0);
  }
  return kept;
}

}  // namespace

void validate(const NwbImportOptions& o, const std::string& where) {
  require(!o.align.empty(), where + "align", "required (a trials column with each trial's event time)");
  require(std::isfinite(o.window_start) && std::isfinite(o.window_stop) && o.window_start < o.window_stop,
          where + "window", "expected start < stop (seconds relative to the event)");
  require(o.bin_width > 0, where + "bin_width", "must be > 0");
  const double bins = (o.window_stop - o.window_start) / o.bin_width;
  require(std::abs(bins - std::round(bins)) <= 1e-9 * std::max(1.0, bins), where + "bin_width",
          "must divide the window (" + number_text(o.window_stop - o.window_start) + " s) into whole bins");
  require(o.epoch.empty() || o.epochs.empty(), where + "epochs", "give an epoch column or epoch boundaries, not both");
  for (std::size_t e = 1; e < o.epochs.size(); ++e)
    require(o.epochs[e].second > o.epochs[e - 1].second, where + "epochs", "boundaries must increase");
  require(o.min_spikes >= 0, where + "min_spikes", "must be >= 0");
}

NwbImport import_nwb(const NwbImportOptions& o) {
  validate(o, o.file.string() + ": ");
  const Hdf5File file(o.file);
  NwbImport result;

  // 1. Trials: filter, event times, conditions, epochs.
  const KeptTrials trials = select_trials(file, o, result);
  const int64_t T = bin_count(o), K = static_cast<int64_t>(trials.rows.size());

  // 2. Units: filter, spike-time index, observation intervals.
  const std::size_t units = table_rows(file, kUnits, "units");
  result.units_total = static_cast<int64_t>(units);
  const std::string spikes_path = kUnits + "/spike_times";
  if (!file.is_dataset(spikes_path)) throw InputError(file.where(spikes_path) + ": not found (expected spike times)");
  const std::vector<int64_t> spikes_shape = file.shape(spikes_path);
  if (spikes_shape.size() != 1) throw InputError(file.where(spikes_path) + ": expected a 1-D dataset");
  const std::vector<int64_t> spike_ends = ragged_ends(file, spikes_path + "_index", units, spikes_shape[0]);
  const std::vector<int64_t> unit_ids = file.read_int64s(kUnits + "/id");
  std::vector<double> intervals;
  std::vector<int64_t> interval_ends;
  const bool observed_intervals = file.is_dataset(kUnits + "/obs_intervals");
  if (observed_intervals) {
    const std::vector<int64_t> shape = file.shape(kUnits + "/obs_intervals");
    if (shape.size() != 2 || shape[1] != 2)
      throw InputError(file.where(kUnits + "/obs_intervals") + ": expected an n x 2 array of [start, stop] times");
    intervals = file.read_doubles(kUnits + "/obs_intervals");
    interval_ends = ragged_ends(file, kUnits + "/obs_intervals_index", units, shape[0]);
  }
  const RowFilter filter(file, kUnits, o.units_where, units, "a units filter");

  // 3. Bin each kept unit's spikes, read one unit at a time.
  std::vector<int32_t> counts;   // [D][T * K] of the kept units, filled unit by unit
  std::vector<uint8_t> missing;  // the same layout
  std::vector<int64_t> kept_units;
  const double w = o.bin_width;
  for (std::size_t u = 0; u < units; ++u) {
    if (!filter.keeps(u)) {
      ++result.units_dropped_where;
      continue;
    }
    const int64_t begin = u ? spike_ends[u - 1] : 0;
    std::vector<double> spikes = file.read_doubles(spikes_path, begin, spike_ends[u] - begin);
    // A NaN has no place in the sorted order the binary searches below rely on, nor a bin.
    if (std::any_of(spikes.begin(), spikes.end(), [](double t) { return std::isnan(t); }))
      throw InputError(file.where(spikes_path) + ": a spike time of unit " + std::to_string(u) + " is NaN");
    std::sort(spikes.begin(), spikes.end());
    std::vector<int32_t> unit_counts(static_cast<std::size_t>(T * K), 0);
    std::vector<uint8_t> unit_missing(static_cast<std::size_t>(T * K), 0);
    int64_t unit_spikes = 0;
    for (int64_t k = 0; k < K; ++k) {
      const double a = trials.events[k] + o.window_start;
      // Spikes near the window, then the bin rule itself: i = floor((t - a) / w), 0 <= i < T.
      auto it = std::lower_bound(spikes.begin(), spikes.end(), a - w);
      const auto last = std::upper_bound(spikes.begin(), spikes.end(), a + (T + 1) * w);
      for (; it != last; ++it) {
        const double i = std::floor((*it - a) / w);
        if (i < 0 || i >= T) continue;
        ++unit_counts[static_cast<std::size_t>(static_cast<int64_t>(i) * K + k)];
        ++unit_spikes;
      }
      if (!observed_intervals) continue;
      const int64_t first = u ? interval_ends[u - 1] : 0;
      for (int64_t i = 0; i < T; ++i) {
        const double lo = a + i * w, hi = a + (i + 1) * w;
        bool inside = false;
        for (int64_t j = first; j < interval_ends[u] && !inside; ++j)
          inside = intervals[2 * j] <= lo && hi <= intervals[2 * j + 1];
        unit_missing[static_cast<std::size_t>(i * K + k)] = !inside;
      }
    }
    for (std::size_t e = 0; e < unit_counts.size(); ++e)
      if (unit_missing[e]) {  // a missing bin holds no count: its spikes are not observed data
        unit_spikes -= unit_counts[e];
        unit_counts[e] = 0;
      }
    if (unit_spikes < o.min_spikes) {
      ++result.units_dropped_min_spikes;
      continue;
    }
    result.spikes_binned += unit_spikes;
    counts.insert(counts.end(), unit_counts.begin(), unit_counts.end());
    missing.insert(missing.end(), unit_missing.begin(), unit_missing.end());
    kept_units.push_back(unit_ids.at(u));
  }
  const auto D = static_cast<int64_t>(kept_units.size());
  if (D == 0)
    throw InputError(o.file.string() + ": no unit kept (" + std::to_string(result.units_dropped_where) +
                     " left out by the units filter, " + std::to_string(result.units_dropped_min_spikes) +
                     " with fewer than " + std::to_string(o.min_spikes) + " spikes in the kept windows)");

  // 4. The dataset: [D, T, K] as collected, to [T, K, D].
  Dataset& ds = result.dataset;
  // A copy, not contiguous(): with one unit (D = 1) the permuted view is contiguous already,
  // and contiguous() returned the view of `counts`, which is freed on the next line.
  result.counts = torch::from_blob(counts.data(), {D, T, K}, torch::kInt32)
                      .permute({1, 2, 0})
                      .clone(torch::MemoryFormat::Contiguous);
  std::vector<int32_t>().swap(counts);
  ds.missing =
      torch::from_blob(missing.data(), {D, T, K}, torch::kUInt8).permute({1, 2, 0}).to(torch::kBool).contiguous();
  result.bins_missing = ds.missing.sum().item<int64_t>();
  if (!observed_intervals) ds.missing = torch::Tensor();
  ds.counts = true;
  ds.condition = torch::tensor(trials.condition, torch::kInt64);
  ds.condition_labels = trials.condition_labels;
  std::vector<int64_t> epoch_index;
  for (const std::string& label : trials.epoch) {
    auto pos = std::find(ds.epoch_labels.begin(), ds.epoch_labels.end(), label);
    if (pos == ds.epoch_labels.end()) pos = ds.epoch_labels.insert(ds.epoch_labels.end(), label);
    epoch_index.push_back(pos - ds.epoch_labels.begin());
  }
  ds.epoch = torch::tensor(epoch_index, torch::kInt64);
  ds.trial_id = torch::tensor(trials.ids, torch::kInt64);
  std::vector<double> times(static_cast<std::size_t>(T));
  for (int64_t i = 0; i < T; ++i) times[i] = o.window_start + (i + 0.5) * w;
  ds.times = torch::tensor(times, torch::kFloat64);
  result.unit_ids = kept_units;
  result.condition_values = trials.condition_values;
  return result;
}

Dataset nwb_dataset(const NwbImport& r) {
  Dataset ds = r.dataset;
  ds.data = r.counts.to(torch::kFloat64);
  return ds;
}

std::string format_import_summary(const NwbImport& r) {
  const Dataset& d = r.dataset;
  std::ostringstream out;
  out << "units: " << r.counts.size(2) << " kept of " << r.units_total;
  if (r.units_dropped_where) out << "; " << r.units_dropped_where << " left out by the units filter";
  if (r.units_dropped_min_spikes) out << "; " << r.units_dropped_min_spikes << " with too few spikes";
  out << "\ntrials: " << r.counts.size(1) << " kept of " << r.trials_total;
  if (r.trials_dropped_where) out << "; " << r.trials_dropped_where << " left out by the trials filter";
  if (r.trials_dropped_no_event) out << "; " << r.trials_dropped_no_event << " without an event time (NaN)";
  if (r.trials_dropped_before_epochs) out << "; " << r.trials_dropped_before_epochs << " before the first epoch";
  out << "\nconditions: " << d.n_conditions() << "; epochs:";
  for (const std::string& e : d.epoch_labels) out << " " << e;
  out << "\nbins: " << r.counts.size(0) << " per trial; " << r.spikes_binned << " spikes binned; " << r.bins_missing
      << " of " << r.counts.numel() << " unit-bins missing (outside the units' observation intervals)\n";
  return out.str();
}

NpzContents nwb_arrays(const NwbImport& r) {
  Dataset labels = r.dataset;
  labels.data = torch::zeros({r.counts.size(0), r.counts.size(1), 1}, torch::kFloat64);  // the arrays but data
  labels.counts = false;
  NpzContents arrays = dataset_arrays(labels);
  arrays.front().second = to_npy(r.counts);  // the counts as int32
  arrays.emplace_back("unit_ids", NpyArray::from_int64s({static_cast<int64_t>(r.unit_ids.size())}, r.unit_ids));
  arrays.emplace_back("condition_values",
                      NpyArray::from_strings({static_cast<int64_t>(r.condition_values.size())}, r.condition_values));
  return arrays;
}

}  // namespace ltrnn
