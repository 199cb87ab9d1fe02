#!/usr/bin/python3
"""A rank-2 low-tensor-rank teacher written with numpy alone, not with ltrnn's generators.

It differs from `ltrnn simulate teacher` on purpose, so that fitting it tests ltrnn on data
made in ways its code does not assume: the two components are a rotation in the plane of two
random directions (W(k) = g (c1(k) m1 n1^T - c2(k) m2 n2^T) / N with n1 ~ m2, n2 ~ m1), the
initial states lie in that plane, the state holds still during the preparatory bins (no
input acts at all), the readout is C tanh(x) without a per-neuron offset, the dynamics are
integrated with one Heun step per bin, and tau is 1 s in bins of 45 ms (22 bins).

    /usr/bin/python3 experiments/independent_teacher/independent_teacher.py --seed 0 --out experiments/independent_teacher/independent_teacher.npz
    ltrnn run experiments/independent_teacher/independent_teacher.json --out runs/independent_teacher

The .npz holds the dataset keys ltrnn reads (data, condition, epoch, trial_id, times) and the
truth (true_trial_factors [K, 2], true_tau, noise_floor: the test nMSE of a perfect model).
"""
import argparse

import numpy as np


def trial_factors(K_epoch):
    """Component strengths over 3 epochs of K_epoch trials (baseline, adaptation, washout):
    the first drifts up through adaptation and stays; the second is absent at baseline, grows
    during adaptation and decays during washout."""
    k = np.arange(3 * K_epoch)
    ad = np.clip((k - K_epoch) / K_epoch, 0, None)  # 0 in BL, 0..1 in AD, > 1 in WO
    c1 = 1.0 + 0.4 * np.tanh(3 * np.minimum(ad, 1.0))
    grow = 1 - np.exp(-4 * np.minimum(ad, 1.0))
    decay = np.exp(-5 * np.clip(ad - 1.0, 0, None))
    c2 = 0.9 * grow * decay
    return np.stack([c1, c2], axis=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="experiments/independent_teacher/independent_teacher.npz")
    p.add_argument("--tau", type=float, default=1.0, help="time constant (s)")
    p.add_argument("--bin-width", type=float, default=0.045, help="s")
    p.add_argument("--bins", type=int, default=45)
    p.add_argument("--preparatory-bins", type=int, default=5)
    p.add_argument("--trials-per-epoch", type=int, default=30)
    p.add_argument("--conditions", type=int, default=4)
    p.add_argument("--hidden", type=int, default=40)
    p.add_argument("--neurons", type=int, default=30)
    p.add_argument("--gain", type=float, default=3.0)
    p.add_argument("--noise", type=float, default=0.05, help="noise std over the signal's std")
    p.add_argument("--off-plane", type=float, default=0.2,
                   help="std of each initial state's random part outside the rotation's plane, per unit")
    a = p.parse_args()

    rng = np.random.default_rng(a.seed)
    N, D, C, T, P = a.hidden, a.neurons, a.conditions, a.bins, a.preparatory_bins
    K = 3 * a.trials_per_epoch
    m1, m2 = rng.standard_normal(N), rng.standard_normal(N)
    n1 = a.gain * (m2 + 0.3 * rng.standard_normal(N))
    n2 = a.gain * (m1 + 0.3 * rng.standard_normal(N))
    c = trial_factors(a.trials_per_epoch)
    W = (c[:, 0, None, None] * np.outer(m1, n1) - c[:, 1, None, None] * np.outer(m2, n2)) / N  # [K, N, N]

    angles = 2 * np.pi * np.arange(C) / C
    x0 = np.cos(angles)[:, None] * m1 + np.sin(angles)[:, None] * m2 + a.off_plane * rng.standard_normal((C, N))
    condition = np.arange(K) % C
    readout = rng.standard_normal((D, N)) / np.sqrt(N)

    h = a.bin_width / a.tau

    def f(x):  # tau dx/dt, x [K, N]
        return -x + np.einsum("kij,kj->ki", W, np.tanh(x))

    x = x0[condition]
    states = np.empty((T, K, N))
    for t in range(T):
        states[t] = x
        if t >= P:  # the state holds still before t = 0; one Heun step per bin after
            k1 = f(x)
            k2 = f(x + h * k1)
            x = x + 0.5 * h * (k1 + k2)
    signal = np.tanh(states) @ readout.T  # [T, K, D]
    noise_std = a.noise * signal.std()
    data = signal + noise_std * rng.standard_normal(signal.shape)

    epoch = np.array(["BL", "AD", "WO"])[np.arange(K) // a.trials_per_epoch]
    times = (np.arange(T) - P) * a.bin_width
    np.savez(a.out, data=data, condition=condition.astype(np.int64), epoch=epoch,
             trial_id=np.arange(K, dtype=np.int64), times=times, true_trial_factors=c,
             true_tau=np.float64(a.tau), noise_floor=np.float64(noise_std**2 / signal.var()))
    print(f"{a.out}: {T} bins x {K} trials x {D} neurons, signal std {signal.std():.3f}, "
          f"noise floor (test nMSE) {noise_std**2 / signal.var():.4f}")


if __name__ == "__main__":
    main()
