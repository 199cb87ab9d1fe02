// A spiking teacher as an NWB 2.x file: the units and trials tables of the NWB layout.
#include "sim/teacher_nwb.h"

#include <torch/torch.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "io/hdf5.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {

namespace {

struct TrialRow {
  double start, stop, go;
  double target;  // degrees
  std::string epoch, result;
};

// Spikes of one unit in [from, to) at `rate` per second, uniform in time.
void add_background(std::vector<double>& spikes, double from, double to, double rate, std::mt19937_64& rng) {
  if (to <= from || rate <= 0) return;
  const int64_t n = std::poisson_distribution<int64_t>(rate * (to - from))(rng);
  std::uniform_real_distribution<double> uniform(from, to);
  for (int64_t j = 0; j < n; ++j) spikes.push_back(uniform(rng));
}

// `count` spikes placed uniformly inside the bin [a, a + w), kept off its edges so that
// rounding cannot move one into a neighbouring bin.
void add_bin(std::vector<double>& spikes, double a, double w, int64_t count, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(0.001, 0.999);
  for (int64_t j = 0; j < count; ++j) spikes.push_back(a + w * uniform(rng));
}

std::vector<uint64_t> ends_of(const std::vector<std::vector<double>>& ragged) {
  std::vector<uint64_t> ends;
  uint64_t total = 0;
  for (const auto& row : ragged) ends.push_back(total += row.size());
  return ends;
}

}  // namespace

TeacherNwbSummary write_teacher_nwb(const std::filesystem::path& path, const TeacherData& teacher,
                                    const TeacherConfig& c, const TeacherNwbLayout& layout) {
  if (!teacher.dataset.counts || !teacher.baseline.defined())
    throw InputError("--nwb: only a spiking teacher (--spikes) can be written as NWB spike times");
  const torch::Tensor counts = teacher.dataset.data.to(torch::kInt64).contiguous();
  const auto n = counts.accessor<int64_t, 3>();
  const int64_t T = counts.size(0), K = counts.size(1), D = counts.size(2);
  const double w = c.bin_width;
  const auto baseline = teacher.baseline.accessor<double, 1>();  // expected count per bin
  const auto condition = teacher.dataset.condition.accessor<int64_t, 1>();
  const auto epoch = teacher.dataset.epoch.accessor<int64_t, 1>();
  const int64_t C = std::max<int64_t>(1, teacher.dataset.n_conditions());
  std::mt19937_64 rng(static_cast<uint64_t>(layout.seed) * 0x9E3779B97F4A7C15ull + 11);

  // 1. The session: trials one after another, a failed trial after every failed_every.
  TeacherNwbSummary summary;
  summary.window_start = -static_cast<double>(c.preparatory_bins) * w;
  summary.window_stop = static_cast<double>(T - c.preparatory_bins) * w;
  const double trial_length = 2 * layout.pad + T * w;
  std::vector<TrialRow> trials;
  std::vector<std::vector<double>> spikes(D);
  double cursor = 1.0;
  const auto next_trial = [&](int64_t k, const std::string& result) {
    TrialRow row{cursor,
                 cursor + trial_length,
                 cursor + layout.pad - summary.window_start,
                 360.0 * static_cast<double>(condition[k]) / static_cast<double>(C),
                 teacher.dataset.epoch_labels.at(epoch[k]),
                 result};
    cursor = row.stop + layout.gap;
    trials.push_back(row);
    return row;
  };
  for (int64_t k = 0; k < K; ++k) {
    if (layout.failed_every > 0 && k > 0 && k % layout.failed_every == 0) {
      // A failed trial: background spikes only; its neighbour's condition and epoch.
      const TrialRow failed = next_trial(k, "F");
      for (int64_t i = 0; i < D; ++i) add_background(spikes[i], failed.start, failed.stop, baseline[i] / w, rng);
      ++summary.failed_trials;
    }
    // 2. A teacher trial: each bin's count inside its bin, background in the pads.
    const TrialRow row = next_trial(k, "R");
    const double first_bin = row.go + summary.window_start, after_last = row.go + summary.window_stop;
    for (int64_t i = 0; i < D; ++i) {
      add_background(spikes[i], row.start, first_bin, baseline[i] / w, rng);
      for (int64_t t = 0; t < T; ++t) add_bin(spikes[i], first_bin + t * w, w, n[t][k][i], rng);
      add_background(spikes[i], after_last, row.stop, baseline[i] / w, rng);
    }
  }
  const double session_end = cursor;

  // 3. The last unit drops out half-way through the middle teacher trial's bins.
  std::vector<std::vector<double>> observed(D, std::vector<double>{0.0, session_end});
  if (layout.dropout && D > 1) {
    const int64_t middle = K / 2 + (layout.failed_every > 0 ? (K / 2) / layout.failed_every : 0);
    summary.dropout_time = trials.at(middle).go + summary.window_start + (T / 2) * w + 0.5 * w;
    observed[D - 1] = {0.0, summary.dropout_time};
    auto& last = spikes[D - 1];
    last.erase(std::remove_if(last.begin(), last.end(), [&](double s) { return s >= summary.dropout_time; }),
               last.end());
  }
  for (auto& unit : spikes) std::sort(unit.begin(), unit.end());
  summary.trials = static_cast<int64_t>(trials.size());
  summary.units = D;
  for (const auto& unit : spikes) summary.spikes += static_cast<int64_t>(unit.size());

  // 4. The file, in the NWB 2.x layout (DynamicTable columns with ragged VectorIndex).
  write_via_temp(path, [&](const std::filesystem::path& tmp) {
    Hdf5Writer file(tmp);
    file.string_attribute("/", "nwb_version", "2.5.0");
    file.string_attribute("/", "neurodata_type", "NWBFile");
    file.strings("/identifier", {"ltrnn-teacher-seed-" + std::to_string(c.seed)});
    file.strings("/session_description", {"spiking low-tensor-rank teacher RNN simulated by ltrnn"});
    file.strings("/session_start_time", {"2000-01-01T00:00:00+00:00"});
    file.group("/units");
    file.string_attribute("/units", "neurodata_type", "Units");
    file.strings_attribute("/units", "colnames", {"spike_times", "obs_intervals"});
    std::vector<int64_t> unit_ids(D);
    // A session of several: each unit's id is its neuron's in the teacher's pool, so the
    // files of two sessions name a neuron both recorded by the same id.
    for (int64_t i = 0; i < D; ++i) unit_ids[i] = teacher.unit.defined() ? teacher.unit[i].item<int64_t>() : i;
    file.int64s("/units/id", unit_ids);
    std::vector<double> flat;
    for (const auto& unit : spikes) flat.insert(flat.end(), unit.begin(), unit.end());
    file.doubles("/units/spike_times", flat);
    file.uint64s("/units/spike_times_index", ends_of(spikes));
    std::vector<double> intervals;
    for (const auto& unit : observed) intervals.insert(intervals.end(), unit.begin(), unit.end());
    file.doubles("/units/obs_intervals", intervals, {D, 2});
    std::vector<uint64_t> interval_ends(D);
    for (int64_t i = 0; i < D; ++i) interval_ends[i] = static_cast<uint64_t>(i + 1);
    file.uint64s("/units/obs_intervals_index", interval_ends);

    file.group("/intervals/trials");
    file.string_attribute("/intervals/trials", "neurodata_type", "TimeIntervals");
    file.strings_attribute("/intervals/trials", "colnames",
                           {"start_time", "stop_time", "go_cue_time", "target", "epoch", "result"});
    std::vector<int64_t> ids;
    std::vector<double> start, stop, go, target;
    std::vector<std::string> epochs, results;
    for (std::size_t j = 0; j < trials.size(); ++j) {
      ids.push_back(static_cast<int64_t>(j));
      start.push_back(trials[j].start);
      stop.push_back(trials[j].stop);
      go.push_back(trials[j].go);
      target.push_back(trials[j].target);
      epochs.push_back(trials[j].epoch);
      results.push_back(trials[j].result);
    }
    file.int64s("/intervals/trials/id", ids);
    file.doubles("/intervals/trials/start_time", start);
    file.doubles("/intervals/trials/stop_time", stop);
    file.doubles("/intervals/trials/go_cue_time", go);
    file.doubles("/intervals/trials/target", target);
    file.strings("/intervals/trials/epoch", epochs);
    file.strings("/intervals/trials/result", results);
    file.close();
  });
  return summary;
}

}  // namespace ltrnn
