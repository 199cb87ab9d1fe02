"""Reads an NWB file with h5py and bins its spikes with numpy, independently of ltrnn, to
check ltrnn's NWB writer (tests/sim/teacher_nwb_test.cpp).

usage: bin_nwb.py FILE.nwb OUT.npz LO HI W

Keeps the trials whose result is "R"; bin i of a trial covers
[go + LO + i W, go + LO + (i + 1) W); a bin is missing unless wholly inside one of the
unit's obs_intervals. Writes data (T x K x D int32, 0 where missing), missing, trial_id,
target.
"""
import sys

import h5py
import numpy as np

path, out = sys.argv[1], sys.argv[2]
lo, hi, w = (float(v) for v in sys.argv[3:6])
T = int(round((hi - lo) / w))
with h5py.File(path, "r") as f:
    spikes_flat = f["units/spike_times"][:]
    ends = f["units/spike_times_index"][:].astype(np.int64)
    obs_flat = f["units/obs_intervals"][:]
    obs_ends = f["units/obs_intervals_index"][:].astype(np.int64)
    trials = f["intervals/trials"]
    go = trials["go_cue_time"][:]
    result = [r.decode() if isinstance(r, bytes) else r for r in trials["result"][:]]
    trial_ids = trials["id"][:]
    target = trials["target"][:]
starts = np.concatenate([[0], ends[:-1]])
obs_starts = np.concatenate([[0], obs_ends[:-1]])
kept = [k for k in range(len(go)) if result[k] == "R"]
D = len(ends)
data = np.zeros((T, len(kept), D), dtype=np.int32)
missing = np.zeros(data.shape, dtype=bool)
for d in range(D):
    s = spikes_flat[starts[d]:ends[d]]
    obs = obs_flat[obs_starts[d]:obs_ends[d]]
    for j, k in enumerate(kept):
        a = go[k] + lo
        i = np.floor((s - a) / w)
        i = i[(i >= 0) & (i < T)].astype(int)
        np.add.at(data[:, j, d], i, 1)
        for b in range(T):
            left, right = a + b * w, a + (b + 1) * w
            missing[b, j, d] = not any(s0 <= left and right <= e0 for s0, e0 in obs)
data[missing] = 0
np.savez(out, data=data, missing=missing, trial_id=trial_ids[kept], target=target[kept])
