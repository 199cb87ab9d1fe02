// Fuzz target of the NWB import (data/nwb.h), structure-aware. The bytes do not become the
// HDF5 file: they choose the contents of an NWB 2.x file (which tables, groups and columns
// exist, each column's type, shape and length, the spike and event times, ragged indices,
// strings, and the import options), which is written with the project's Hdf5Writer (and the
// HDF5 C API for the dataset forms it does not write) and imported. Mutating the file's
// bytes would mostly exercise libhdf5's own format parser, whose bugs are not ltrnn's to fix,
// and would rarely get past it; this way the import's own checks are what is fuzzed.
#include <hdf5.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "data/nwb.h"
#include "fuzz/support.h"
#include "fuzz/targets.h"
#include "io/hdf5.h"

namespace ltrnn::fuzz {

namespace {
namespace fs = std::filesystem;

// The fuzz input read as a sequence of decisions. Once it is used up every decision takes
// its default: 0 for the structure (the well-formed file) and a fixed pseudo-random
// sequence for the values, so that short inputs still describe a whole, plausible file.
class Decisions {
 public:
  Decisions(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  uint8_t byte() { return used_ < size_ ? data_[used_++] : 0; }
  // One of n choices, 0 by default.
  std::size_t choice(std::size_t n) { return byte() % n; }
  // A count in [0, max]; `fallback` by default.
  std::size_t count(std::size_t fallback, std::size_t max) {
    const uint8_t b = byte();
    return b == 0 ? fallback : b % (max + 1);
  }
  // A number in [lo, hi), or (for the top 16 byte values) one of the values that break
  // arithmetic: NaN, infinities, huge, tiny, negative zero.
  double number(double lo, double hi) {
    if (used_ >= size_) return lo + (hi - lo) * uniform();
    const uint8_t b = byte();
    return b >= 240 ? special(b - 240) : lo + (hi - lo) * b / 240.0;
  }
  // One of `usual`; by default usual[fallback] when the input is used up.
  double pick(const std::vector<double>& usual, std::size_t fallback) {
    if (used_ >= size_) return usual[fallback % usual.size()];
    const uint8_t b = byte();
    return b >= 240 ? special(b - 240) : usual[b % usual.size()];
  }
  // `fallback` (the well-formed value) for most bytes, nearby or extreme values otherwise.
  int64_t integer(int64_t fallback) {
    if (used_ >= size_) return fallback;
    const uint8_t b = byte();
    if (b < 128) return fallback;
    if (b >= 248) {
      static const int64_t extremes[] = {std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max(),
                                         -1,
                                         0,
                                         1,
                                         int64_t{1} << 53,
                                         -(int64_t{1} << 40),
                                         int64_t{1} << 40};
      return extremes[b - 248];
    }
    return fallback + (b - 188);
  }
  // One of `usual` (usual[fallback] by default), or up to 15 raw bytes of the input.
  std::string text(const std::vector<std::string>& usual, std::size_t fallback) {
    if (used_ >= size_) return usual[fallback % usual.size()];
    const uint8_t b = byte();
    if (b < 240) return usual[b % usual.size()];
    std::string raw;
    for (int i = 0; i < b - 240 && used_ < size_; ++i) raw += static_cast<char>(byte());
    return raw;
  }

 private:
  static double special(int which) {
    static const double values[] = {std::numeric_limits<double>::quiet_NaN(),
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    -0.0,
                                    1e300,
                                    -1e300,
                                    9.3e18,  // beyond int64
                                    -9.3e18,
                                    1e15 + 0.5,
                                    std::numeric_limits<double>::denorm_min(),
                                    std::numeric_limits<double>::max(),
                                    -std::numeric_limits<double>::max(),
                                    4.5e1,
                                    1e-300,
                                    0.05,
                                    -1.0};
    return values[which];
  }
  double uniform() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) * 0x1.0p-53;
  }

  const uint8_t* data_;
  std::size_t size_, used_ = 0;
  uint64_t state_ = 7;
};

// How a column is written: as NWB has it, or one of the ways a file can get it wrong.
enum class Form { Natural, Missing, OtherKind, Narrow, Integers, LongerByOne, Shorter, Matrix, Count };

enum class Type { Float64, Int64, UInt64, Strings, Float32, Int32, FixedStrings, ScalarFloat64 };

// One dataset of the file to write.
struct DatasetSpec {
  std::string path;
  Type type = Type::Float64;
  std::vector<int64_t> shape;  // 1-D by default
  std::vector<double> numbers;
  std::vector<int64_t> integers;
  std::vector<std::string> text;
};

// A double as int64 without undefined behaviour (clamped; NaN is 0).
int64_t clamped_int64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// A column given as numbers or as text, turned into the dataset of the chosen form.
class ColumnWriter {
 public:
  explicit ColumnWriter(std::vector<DatasetSpec>& out) : out_(out) {}

  void numbers(const std::string& path, std::vector<double> values, Form form) {
    DatasetSpec d = spec(path, Type::Float64);
    resize(values, form, 0.5);
    switch (form) {
      case Form::Missing:
        return;
      case Form::OtherKind:
        d.type = Type::Strings;
        for (double v : values) d.text.push_back(std::to_string(v));
        break;
      case Form::Narrow:
        d.type = Type::Float32;
        d.numbers = values;
        break;
      case Form::Integers:
        d.type = Type::Int32;
        d.numbers = values;
        break;
      case Form::Matrix:
        if (values.size() % 2) values.push_back(0.0);
        d.shape = {static_cast<int64_t>(values.size() / 2), 2};
        d.numbers = values;
        break;
      default:
        d.numbers = values;
    }
    out_.push_back(d);
  }

  void integers(const std::string& path, std::vector<int64_t> values, Form form, Type natural) {
    DatasetSpec d = spec(path, natural);
    resize(values, form, int64_t{0});
    switch (form) {
      case Form::Missing:
        return;
      case Form::OtherKind:
        d.type = Type::Float64;
        for (int64_t v : values) d.numbers.push_back(static_cast<double>(v) + 0.25);
        break;
      case Form::Narrow:
        d.type = Type::Int32;
        for (int64_t v : values) d.numbers.push_back(static_cast<double>(v));
        break;
      case Form::Integers:
        d.type = Type::Strings;
        for (int64_t v : values) d.text.push_back(std::to_string(v));
        break;
      case Form::Matrix:
        d.type = Type::ScalarFloat64;
        d.numbers = {values.empty() ? 0.0 : static_cast<double>(values[0])};
        break;
      default:
        d.integers = values;
    }
    out_.push_back(d);
  }

  void strings(const std::string& path, std::vector<std::string> values, Form form) {
    DatasetSpec d = spec(path, Type::Strings);
    resize(values, form, std::string("x"));
    switch (form) {
      case Form::Missing:
        return;
      case Form::OtherKind:
        d.type = Type::Float64;
        for (std::size_t i = 0; i < values.size(); ++i) d.numbers.push_back(static_cast<double>(values[i].size()));
        break;
      case Form::Narrow:
        d.type = Type::FixedStrings;
        d.text = values;
        break;
      case Form::Integers:
        d.type = Type::Int64;
        for (std::size_t i = 0; i < values.size(); ++i) d.integers.push_back(static_cast<int64_t>(i));
        break;
      case Form::Matrix:
        d.type = Type::Strings;
        d.text = values;
        d.shape = {static_cast<int64_t>(values.size()), 1};
        break;
      default:
        d.text = values;
    }
    out_.push_back(d);
  }

 private:
  static DatasetSpec spec(const std::string& path, Type type) {
    DatasetSpec d;
    d.path = path;
    d.type = type;
    return d;
  }
  template <class T>
  static void resize(std::vector<T>& values, Form form, const T& extra) {
    if (form == Form::LongerByOne) values.push_back(extra);
    if (form == Form::Shorter && !values.empty()) values.pop_back();
  }
  std::vector<DatasetSpec>& out_;
};

bool written_by_hdf5_writer(const DatasetSpec& d) {
  return (d.type == Type::Float64 || d.type == Type::Int64 || d.type == Type::UInt64 || d.type == Type::Strings) &&
         d.shape.size() <= 2 && !(d.type == Type::Strings && d.shape.size() == 2);
}

void write_with_hdf5_writer(Hdf5Writer& file, const DatasetSpec& d) {
  switch (d.type) {
    case Type::Float64:
      file.doubles(d.path, d.numbers, d.shape);
      break;
    case Type::Int64:
      file.int64s(d.path, d.integers);
      break;
    case Type::UInt64: {
      std::vector<uint64_t> values;
      for (int64_t v : d.integers) values.push_back(static_cast<uint64_t>(v));
      file.uint64s(d.path, values);
      break;
    }
    default:
      file.strings(d.path, d.text);
  }
}

// The forms Hdf5Writer does not write (narrow types, fixed-length strings, scalars, 2-D
// strings), with the C API into the closed file.
void write_with_c_api(const fs::path& path, const std::vector<DatasetSpec>& datasets) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) throw std::runtime_error("cannot reopen " + path.string());
  for (const DatasetSpec& d : datasets) {
    if (written_by_hdf5_writer(d)) continue;
    const bool text = d.type == Type::FixedStrings || d.type == Type::Strings;
    std::vector<hsize_t> dims;
    if (d.type != Type::ScalarFloat64)
      dims = d.shape.empty() ? std::vector<hsize_t>{text ? d.text.size() : d.numbers.size()}
                             : std::vector<hsize_t>(d.shape.begin(), d.shape.end());
    const hid_t space =
        dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t links = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(links, 1);
    hid_t type = -1;
    std::vector<char> buffer;
    std::vector<const char*> pointers;
    std::vector<float> floats(d.numbers.begin(), d.numbers.end());
    std::vector<int32_t> ints;
    for (double v : d.numbers)
      ints.push_back(static_cast<int32_t>(std::clamp<int64_t>(clamped_int64(v), INT32_MIN, INT32_MAX)));
    const void* data = nullptr;
    if (d.type == Type::FixedStrings) {
      std::size_t width = 1;
      for (const auto& s : d.text) width = std::max(width, s.size());
      type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, width);
      buffer.assign(d.text.size() * width + 1, '\0');
      for (std::size_t i = 0; i < d.text.size(); ++i) d.text[i].copy(buffer.data() + i * width, width);
      data = buffer.data();
    } else if (d.type == Type::Strings) {
      type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, H5T_VARIABLE);
      for (const auto& s : d.text) pointers.push_back(s.c_str());
      data = pointers.data();
    } else if (d.type == Type::Float32) {
      type = H5Tcopy(H5T_NATIVE_FLOAT);
      data = floats.data();
    } else if (d.type == Type::Int32) {
      type = H5Tcopy(H5T_NATIVE_INT32);
      data = ints.data();
    } else {
      type = H5Tcopy(H5T_NATIVE_DOUBLE);
      data = d.numbers.data();
    }
    const hid_t dataset = H5Dcreate2(file, d.path.c_str(), type, space, links, H5P_DEFAULT, H5P_DEFAULT);
    if (dataset >= 0) {
      H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
      H5Dclose(dataset);
    }
    H5Tclose(type);
    H5Pclose(links);
    H5Sclose(space);
  }
  H5Fclose(file);
}

constexpr const char* kUnits = "/units";
constexpr const char* kTrials = "/intervals/trials";

// Half of the byte values keep a column as NWB has it, so that random inputs still reach
// the checks after the first column.
Form form_of(uint8_t byte) {
  return byte < 128 ? Form::Natural : static_cast<Form>(byte % static_cast<int>(Form::Count));
}

// 0: the table is there; 1: missing; 2: a dataset in its place.
std::size_t table_state(uint8_t byte) { return byte < 200 ? 0 : 1 + byte % 2; }

// A table's group: there, missing, or a dataset in its place.
void table_group(Hdf5Writer& file, const std::string& table, std::size_t state, const std::string& type,
                 const std::vector<std::string>& columns) {
  if (state == 1) return;
  if (state == 2) {
    file.doubles(table, {1.0, 2.0});
    return;
  }
  file.group(table);
  file.string_attribute(table, "neurodata_type", type);
  file.strings_attribute(table, "colnames", columns);
}

// The file's structure: the tables' groups, the columns' forms, unexpected ragged indices,
// and the numbers of trials and units (the session lasts 2 s per trial).
struct Layout {
  std::size_t units_state = 0, trials_state = 0;
  Form forms[13] = {};
  uint8_t ragged = 0;
  std::size_t trials = 0, units = 0;
  double end = 0;
};

Layout choose_layout(Decisions& d) {
  Layout s;
  s.units_state = table_state(d.byte());
  s.trials_state = table_state(d.byte());
  for (Form& form : s.forms) form = form_of(d.byte());
  s.ragged = d.byte();
  s.trials = d.count(8, 40);
  s.units = d.count(3, 12);
  s.end = 2.0 * static_cast<double>(s.trials) + 3.0;
  return s;
}

// Chooses the values and writes the file.
void write_nwb_file(const fs::path& path, const Layout& s, Decisions& d) {
  const auto& forms = s.forms;
  const uint8_t ragged = s.ragged;
  const std::size_t units_state = s.units_state, trials_state = s.trials_state;
  std::vector<DatasetSpec> datasets;
  ColumnWriter columns(datasets);
  // Trials table: id, start_time, stop_time, go_cue_time, target, result, epoch.
  std::vector<int64_t> ids;
  std::vector<double> start, stop, go, target;
  std::vector<std::string> result, epoch;
  for (std::size_t k = 0; k < s.trials; ++k) {
    ids.push_back(d.integer(static_cast<int64_t>(k)));
    start.push_back(d.number(1.0 + 2.0 * k, 1.1 + 2.0 * k));
    stop.push_back(d.number(start.back() + 1.8, start.back() + 1.9));
    go.push_back(d.number(start.back() + 0.5, start.back() + 0.7));
    target.push_back(d.pick({0.0, 45.0, 90.0}, k));
    result.push_back(d.text({"R", "F", "R", "R"}, k % 7 == 3));
    epoch.push_back(d.text({"BL", "AD", "WO"}, 3 * k / std::max<std::size_t>(s.trials, 1)));
  }
  const std::string t = kTrials;
  columns.integers(t + "/id", ids, forms[0], Type::Int64);
  columns.numbers(t + "/start_time", start, forms[1]);
  columns.numbers(t + "/stop_time", stop, forms[2]);
  columns.numbers(t + "/go_cue_time", go, forms[3]);
  columns.numbers(t + "/target", target, forms[4]);
  columns.strings(t + "/result", result, forms[5]);
  columns.strings(t + "/epoch", epoch, forms[6]);
  if (ragged & 1) columns.integers(t + "/go_cue_time_index", {1}, Form::Natural, Type::UInt64);
  if (ragged & 2) columns.integers(t + "/target_index", {1}, Form::Natural, Type::UInt64);

  // Units table: id, spike_times + index, obs_intervals + index, quality.
  std::vector<int64_t> unit_ids, spike_ends, interval_ends;
  std::vector<double> spikes, intervals;
  std::vector<std::string> quality;
  for (std::size_t u = 0; u < s.units; ++u) {
    unit_ids.push_back(d.integer(static_cast<int64_t>(10 + u)));
    const std::size_t n = d.count(40, 200);
    for (std::size_t i = 0; i < n; ++i) spikes.push_back(d.number(0.0, s.end));
    spike_ends.push_back(d.integer(static_cast<int64_t>(spikes.size())));
    const std::size_t observed = d.count(1, 3);
    for (std::size_t i = 0; i < observed; ++i) {
      intervals.push_back(d.number(0.0, 0.2 * s.end));
      intervals.push_back(d.number(0.8 * s.end, s.end));
    }
    interval_ends.push_back(d.integer(static_cast<int64_t>(intervals.size() / 2)));
    quality.push_back(d.text({"good", "noise", "good"}, u == 1));
  }
  const std::string un = kUnits;
  columns.integers(un + "/id", unit_ids, forms[7], Type::Int64);
  columns.numbers(un + "/spike_times", spikes, forms[8]);
  columns.integers(un + "/spike_times_index", spike_ends, forms[9], ragged & 4 ? Type::Int64 : Type::UInt64);
  // obs_intervals is n x 2 as written; Form::Matrix makes it 1-D.
  Form obs_form = forms[10] == Form::Matrix ? Form::Natural : forms[10] == Form::Natural ? Form::Matrix : forms[10];
  columns.numbers(un + "/obs_intervals", intervals, obs_form);
  columns.integers(un + "/obs_intervals_index", interval_ends, forms[11], Type::UInt64);
  columns.strings(un + "/quality", quality, forms[12]);
  if (ragged & 8) columns.integers(un + "/quality_index", {1}, Form::Natural, Type::UInt64);

  {
    Hdf5Writer file(path);
    file.string_attribute("/", "nwb_version", "2.5.0");
    file.string_attribute("/", "neurodata_type", "NWBFile");
    table_group(file, kUnits, units_state, "Units", {"spike_times", "obs_intervals", "quality"});
    table_group(file, kTrials, trials_state, "TimeIntervals",
                {"start_time", "stop_time", "go_cue_time", "target", "result", "epoch"});
    for (const DatasetSpec& spec : datasets) {
      const bool in_units = spec.path.rfind(un + "/", 0) == 0;
      if ((in_units ? units_state : trials_state) != 0) continue;  // the table is missing or not a group
      if (written_by_hdf5_writer(spec)) write_with_hdf5_writer(file, spec);
    }
    file.close();
  }
  std::vector<DatasetSpec> rest;
  for (const DatasetSpec& spec : datasets)
    if ((spec.path.rfind(un + "/", 0) == 0 ? units_state : trials_state) == 0) rest.push_back(spec);
  write_with_c_api(path, rest);
}

// The import options (window and bin width from a table that keeps the bins few: memory is
// T x K x D). They come before the values so that a hand-made input can set them.
NwbImportOptions choose_options(const fs::path& path, const Layout& s, Decisions& d) {
  NwbImportOptions o;
  o.file = path;
  static const std::vector<std::string> align{"go_cue_time", "start_time", "stop_time", "target",
                                              "result",      "epoch",      "id",        "nonexistent"};
  o.align = align[d.choice(align.size())];
  struct Window {
    double start, stop, bin;
  };
  static const Window windows[] = {{-0.2, 0.3, 0.05}, {-0.5, 1.0, 0.02}, {0.0, 0.5, 0.1},     {-0.1, 0.0, 0.1},
                                   {-0.2, 0.3, 0.03}, {0.3, -0.2, 0.05}, {-1e-3, 1e-3, 1e-3}, {-0.2, 0.3, 0.5}};
  const Window& w = windows[d.choice(8)];
  o.window_start = w.start;
  o.window_stop = w.stop;
  o.bin_width = w.bin;
  static const std::vector<std::string> condition{"target",      "",           "result",      "epoch",
                                                  "go_cue_time", "start_time", "nonexistent", "id"};
  o.condition = condition[d.choice(condition.size())];
  const std::size_t epoch_mode = d.choice(6);
  o.epoch = epoch_mode == 0 || epoch_mode == 5 ? "epoch" : epoch_mode == 3 ? "result" : epoch_mode == 4 ? "target" : "";
  if (epoch_mode == 2 || epoch_mode == 5) {
    const std::size_t n = 1 + d.choice(3);
    for (std::size_t e = 0; e < n; ++e)
      o.epochs.emplace_back(d.text({"early", "middle", "late"}, e), d.number(e * s.end / 3, (e + 1) * s.end / 3));
  }
  switch (d.choice(8)) {
    case 0:
      o.trials_where = {{"result", "R"}};
      break;
    case 2:
      o.trials_where = {{"target", "45"}};
      break;
    case 3:
      o.trials_where = {{"result", d.text({"R", "F", ""}, 0)}};
      break;
    case 4:
      o.trials_where = {{"nonexistent", "x"}};
      break;
    case 5:
      o.trials_where = {{"target", d.text({"abc", "4.5e1", "nan", "inf", "-0"}, 0)}};
      break;
    case 6:
      o.trials_where = {{"epoch", "AD"}};
      break;
    case 7:
      o.trials_where = {{"go_cue_time", "1"}};
      break;
    default:
      break;
  }
  switch (d.choice(6)) {
    case 0:
      o.units_where = {{"quality", "good"}};
      break;
    case 2:
      o.units_where = {{"id", "11"}};
      break;
    case 3:
      o.units_where = {{"quality", d.text({"good", "noise", ""}, 0)}};
      break;
    case 4:
      o.units_where = {{"spike_times", "0"}};
      break;
    case 5:
      o.units_where = {{"nonexistent", "x"}};
      break;
    default:
      break;
  }
  o.min_spikes = d.integer(0);
  return o;
}

// What an accepted import promises the fit: counts [T, K, D] matching its labels, no
// count in a missing bin, and the summary, arrays and dataset built from it.
void check_import(const NwbImport& r) {
  const torch::Tensor& c = r.counts;
  check(c.dim() == 3 && c.size(0) > 0 && c.size(1) > 0 && c.size(2) > 0, "nwb", "counts are not a non-empty 3-D array");
  check(c.size(2) == static_cast<int64_t>(r.unit_ids.size()), "nwb", "unit_ids do not match the counts");
  check(c.min().item<int32_t>() >= 0, "nwb", "a negative count");
  check(c.sum().item<int64_t>() == r.spikes_binned, "nwb", "spikes_binned differs from the counts");
  const Dataset& ds = r.dataset;
  check(ds.condition.numel() == c.size(1) && ds.epoch.numel() == c.size(1) && ds.trial_id.numel() == c.size(1), "nwb",
        "per-trial labels do not match the counts");
  check(ds.times.numel() == c.size(0), "nwb", "times do not match the counts");
  check(ds.condition.max().item<int64_t>() < static_cast<int64_t>(r.condition_values.size()), "nwb",
        "a condition id without a value");
  if (ds.missing.defined()) check(!(c.ne(0) & ds.missing).any().item<bool>(), "nwb", "a count in a missing bin");
  check(!format_import_summary(r).empty(), "nwb", "an empty summary");
  check(!nwb_arrays(r).empty(), "nwb", "no arrays");
  check(nwb_dataset(r).data.sizes() == c.sizes(), "nwb", "the dataset's data differs in shape from the counts");
}

}  // namespace

void nwb_input(const uint8_t* data, std::size_t size) {
  Decisions decisions(data, size);
  const fs::path path = scratch_file("fuzz.nwb");
  const Layout layout = choose_layout(decisions);
  const NwbImportOptions options = choose_options(path, layout, decisions);
  write_nwb_file(path, layout, decisions);
  expect_clean("nwb", [&] { check_import(import_nwb(options)); });
}

}  // namespace ltrnn::fuzz
