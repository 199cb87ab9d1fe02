// A spiking teacher written as an NWB 2.x file, so the whole path from a recording to a
// selected rank can be run without a download (docs/design.md section 7).
#pragma once
#include <cstdint>
#include <filesystem>

#include "sim/teacher.h"

namespace ltrnn {

// How the session around the teacher's trials is laid out.
struct TeacherNwbLayout {
  double pad = 0.3;          // seconds of the trial before the first and after the last bin
  double gap = 0.2;          // seconds between trials
  int64_t failed_every = 8;  // a failed trial (result "F") after every this many trials (0: none)
  bool dropout = true;       // the last unit stops being observed half-way through the session
  int64_t seed = 0;          // spike times within bins, failed trials
};

// What the file holds, for the caller's summary.
struct TeacherNwbSummary {
  int64_t trials = 0, failed_trials = 0, units = 0, spikes = 0;
  double dropout_time = 0;                   // session time at which the last unit's observation ends (0: no dropout)
  double window_start = 0, window_stop = 0;  // the teacher's bins relative to go_cue_time, seconds
};

// Writes `teacher` (a spiking teacher: integer counts) as NWB: units (spike_times +
// index, obs_intervals + index, id) with each bin's spikes placed uniformly within the
// bin, and baseline spikes outside the bins (unit ids 0..D-1, or `teacher.unit`'s pool ids for
// one session of several: teacher_session); a trials table (id, start_time, stop_time,
// go_cue_time, target in degrees, epoch, result) with failed trials between the teacher's.
// Importing with --align go_cue_time --window=window_start,window_stop --bin bin_width
// --condition target --epoch epoch --where result=R gives back the teacher's counts, with
// the last unit's bins after dropout_time missing. Written via a temporary file.
TeacherNwbSummary write_teacher_nwb(const std::filesystem::path& path, const TeacherData& teacher,
                                    const TeacherConfig& config, const TeacherNwbLayout& layout = {});

}  // namespace ltrnn
