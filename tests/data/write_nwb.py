"""Writes small NWB 2.x files with h5py for the import tests, and bins their spikes with
numpy, independently of ltrnn, for comparison.

usage: write_nwb.py OUT.nwb EXPECTED.npz [--variant NAME]

The file follows the NWB 2.x layout of the units table (id, spike_times,
spike_times_index, obs_intervals, obs_intervals_index, quality) and the trials table
(id, start_time, stop_time, go_cue_time, target, result, epoch). Three units; the third
drops out half-way (its obs_intervals end at mid-session); unit 1 is labelled "noise";
trial 3 failed (result "F"); trial 5 has no go cue (NaN). The expected dataset is the
import with --align go_cue_time --window=-0.2,0.3 --bin 0.05 --condition target
--epoch epoch --where result=R --units-where quality=good.

Variants write malformed files for the refusals: not_hdf5, no_units, index_out_of_range,
index_not_monotone, ragged_condition.
"""
import sys

import h5py
import numpy as np

out, expected, variant = sys.argv[1], sys.argv[2], (sys.argv[4] if len(sys.argv) > 4 else "")
if variant == "not_hdf5":
    open(out, "w").write("this is not an HDF5 file\n")
    sys.exit(0)

rng = np.random.default_rng(7)
n_trials, n_units = 12, 3
start = np.arange(n_trials) * 2.0 + 1.0
go = start + 0.5 + rng.uniform(0, 0.2, n_trials)
go[5] = np.nan
target = np.array([0.0, 45.0, 90.0, 45.0, 0.0, 90.0, 0.0, 45.0, 90.0, 0.0, 45.0, 90.0])
result = ["R"] * n_trials
result[3] = "F"
epoch = ["BL"] * 4 + ["AD"] * 4 + ["WO"] * 4
session_end = start[-1] + 2.0
spikes = [np.sort(rng.uniform(0, session_end, 400)) for _ in range(n_units)]
# A spike exactly on a bin edge of trial 0 (go + start + 2 w) in unit 0.
spikes[0] = np.sort(np.append(spikes[0], go[0] - 0.2 + 2 * 0.05))
quality = ["good", "noise", "good"]
obs = [[[0.0, session_end]], [[0.0, session_end]], [[0.0, start[6] + 0.55]]]

with h5py.File(out, "w") as f:
    f.attrs["nwb_version"] = "2.5.0"
    units = f.create_group("units")
    units.attrs["neurodata_type"] = "Units"
    units.attrs["colnames"] = ["spike_times", "obs_intervals", "quality"]
    units.create_dataset("id", data=np.array([10, 11, 12], dtype=np.int64))
    flat = np.concatenate(spikes)
    ends = np.cumsum([len(s) for s in spikes])
    if variant == "index_out_of_range":
        ends[-1] += 5
    if variant == "index_not_monotone":
        ends[1] = ends[0] - 1
    if variant != "no_units":
        units.create_dataset("spike_times", data=flat)
    units.create_dataset("spike_times_index", data=ends.astype(np.uint64))
    units.create_dataset("obs_intervals", data=np.array([iv for u in obs for iv in u]))
    units.create_dataset("obs_intervals_index", data=np.cumsum([len(u) for u in obs]).astype(np.uint64))
    units.create_dataset("quality", data=quality, dtype=h5py.string_dtype())
    trials = f.create_group("intervals/trials")
    trials.attrs["neurodata_type"] = "TimeIntervals"
    trials.create_dataset("id", data=np.arange(n_trials, dtype=np.int64))
    trials.create_dataset("start_time", data=start)
    trials.create_dataset("stop_time", data=start + 1.8)
    trials.create_dataset("go_cue_time", data=go)
    trials.create_dataset("target", data=target)
    trials.create_dataset("result", data=result, dtype=h5py.string_dtype())
    trials.create_dataset("epoch", data=epoch, dtype=h5py.string_dtype())
    if variant == "ragged_condition":
        trials.create_dataset("target_index", data=np.arange(1, n_trials + 1, dtype=np.uint64))

# The expected import, by numpy: bins [a + i w, a + (i + 1) w) with a = go + start,
# i = floor((t - a) / w); a bin is missing unless wholly inside an observation interval.
w, lo, hi = 0.05, -0.2, 0.3
T = int(round((hi - lo) / w))
kept_trials = [k for k in range(n_trials) if result[k] == "R" and np.isfinite(go[k])]
kept_units = [u for u in range(n_units) if quality[u] == "good"]
data = np.zeros((T, len(kept_trials), len(kept_units)), dtype=np.int32)
missing = np.zeros(data.shape, dtype=bool)
for d, u in enumerate(kept_units):
    for j, k in enumerate(kept_trials):
        a = go[k] + lo
        i = np.floor((spikes[u] - a) / w)
        i = i[(i >= 0) & (i < T)].astype(int)
        np.add.at(data[:, j, d], i, 1)
        for b in range(T):
            left, right = a + b * w, a + (b + 1) * w
            missing[b, j, d] = not any(s <= left and right <= e for s, e in obs[u])
data[missing] = 0
values = sorted(set(target[kept_trials]))
np.savez(expected, data=data, missing=missing, condition=np.array([values.index(target[k]) for k in kept_trials]),
         condition_label=np.array([int(target[k]) for k in kept_trials]),
         condition_values=np.array(values), epoch=np.array([epoch[k] for k in kept_trials]),
         trial_id=np.array(kept_trials), times=lo + (np.arange(T) + 0.5) * w,
         unit_ids=np.array([10 + u for u in kept_units]))
