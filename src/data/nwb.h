// Sorted spikes of an NWB 2.x file (HDF5) binned into a learning dataset: the units table
// (spike times with their ragged index, observation intervals), the trials table (an event
// to align to, a condition and an epoch per trial), a window around the event and a bin
// width. Bins are left-closed, right-open: bin i of a trial with event time e covers
// [e + start + i w, e + start + (i + 1) w), computed as floor((t - (e + start)) / w);
// `times` are the bin centres relative to the event, so t < 0 is preparatory. A bin of a
// unit not wholly inside one of its obs_intervals is missing (docs/design.md section 7).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "io/npy.h"

namespace ltrnn {

struct NwbImportOptions {
  std::filesystem::path file;
  std::string align;           // trials column holding each trial's event time (s)
  double window_start = -0.5;  // seconds relative to the event
  double window_stop = 1.0;
  double bin_width = 0.02;                             // seconds
  std::string condition;                               // trials column of the task condition ("" : one condition)
  std::string epoch;                                   // trials column of the epoch, or
  std::vector<std::pair<std::string, double>> epochs;  // (name, session time it starts at)
  std::map<std::string, std::string> trials_where;     // keep trials whose column equals the value
  std::map<std::string, std::string> units_where;      // keep units whose column equals the value
  int64_t min_spikes = 0;                              // drop units with fewer spikes in the kept windows
};

// Checks what needs no file (window, bin width, epochs); InputError naming `where` + field.
void validate(const NwbImportOptions& options, const std::string& where);

struct NwbImport {
  // The counts stay int32 [T, K, D] (a quarter of float64's memory); nwb_dataset() makes
  // the float64 dataset a fit needs. Labels, times and `missing` are filled in `dataset`.
  torch::Tensor counts;
  Dataset dataset;                            // everything but `data`
  std::vector<int64_t> unit_ids;              // [D] the units table's ids of the kept units
  std::vector<std::string> condition_values;  // [C] the condition column's value of each condition id
  int64_t units_total = 0, units_dropped_where = 0, units_dropped_min_spikes = 0;
  int64_t trials_total = 0, trials_dropped_where = 0, trials_dropped_no_event = 0, trials_dropped_before_epochs = 0;
  int64_t spikes_binned = 0, bins_missing = 0;
};

// Reads spike times unit by unit (never the whole file). Malformed or unexpected files are
// refused with an InputError naming the file and the HDF5 path.
NwbImport import_nwb(const NwbImportOptions& options);
// What `ltrnn import nwb` prints: units and trials kept and dropped (and why), spikes, bins missing.
std::string format_import_summary(const NwbImport& import);
// The dataset's arrays (data as int32 counts) plus unit_ids and condition_values.
NpzContents nwb_arrays(const NwbImport& import);
// The dataset with its counts as float64 data.
Dataset nwb_dataset(const NwbImport& import);

}  // namespace ltrnn
