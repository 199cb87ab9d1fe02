"""A real PyTorch client of ltrnn's TorchScript export (no ltrnn code involved).

For each run directory given: load model.pt with torch.jit.load, check that
forward(arange(K)) reproduces predictions.npy to 1e-5 relative, that hidden() and
weights() have the documented shapes, and read the factor attributes.
Run with Debian's Python (python3-torch): /usr/bin/python3 python_client.py RUN_DIR...
"""
import sys

import numpy as np
import torch


def check_run(run_dir):
    model = torch.jit.load(f"{run_dir}/model.pt")
    predictions = np.load(f"{run_dir}/predictions.npy")
    T, K, D = predictions.shape
    trials = torch.arange(K)
    with torch.no_grad():
        output = model.forward(trials).numpy()
        hidden = model.hidden(trials[:3])
        weights = model.weights(trials[:2])
    scale = np.abs(predictions).max()
    error = np.abs(output - predictions).max() / scale
    assert error <= 1e-5, f"{run_dir}: forward differs from predictions.npy by {error:.2e} (relative)"
    N = model.hidden_size
    assert tuple(hidden.shape) == (T, 3, N), f"{run_dir}: hidden shape {tuple(hidden.shape)}"
    assert tuple(weights.shape) == (2, N, N), f"{run_dir}: weights shape {tuple(weights.shape)}"
    assert tuple(model.readout.shape) == (D, N)
    kind = model.model_kind
    if kind == "tensor_rank":
        R = model.rank
        A, B, c = model.column_factors, model.row_factors, model.trial_factors
        assert tuple(c.shape) == (K, R) and tuple(A.shape) == (N, R) and tuple(B.shape) == (N, R)
        rebuilt = torch.einsum("kr,ir,jr->kij", c[:2], A, B)
        assert torch.allclose(rebuilt, weights, rtol=1e-5, atol=1e-6), f"{run_dir}: W(k) != sum_r c a b^T"
    print(f"ok {kind}: {run_dir} (max relative error {error:.1e})")


def main():
    runs = sys.argv[1:]
    failed = 0
    for run_dir in runs:
        try:
            check_run(run_dir)
        except AssertionError as e:
            print(f"FAILED: {e}")
            failed += 1
    print(f"{len(runs) - failed} passed, {failed} failed")
    return 1 if failed or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
