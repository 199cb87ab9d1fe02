// The fused integrator's kernels on a CUDA device (fused_kernels_cuda.cu): the same
// forward and discrete-adjoint backward as fused_kernels.h, one thread block per trial.
// Plain C++ over device pointers, no LibTorch; compiled only in the CUDA build (LTRNN_CUDA).
//
// Why one block per trial: trials are independent, and a trial's whole trajectory then runs
// in one launch with its state, stage slopes and adjoints in shared memory; the loop over
// time is inside the kernel, so an iteration costs two launches whatever T is (the
// per-operation formulation costs about 20 launches per step and is bound by them).
#pragma once
#include <cstdint>

#include "model/fused_kernels.h"

namespace ltrnn {

// Where the backward writes on the device. Every gradient is per trial (rows of the trial's
// own), including those of weights shared by all trials: the caller sums those over trials
// (in a fixed order, so the numbers do not depend on scheduling).
template <class Scalar>
struct DeviceTrialGradients {
  Scalar* dx0 = nullptr;         // [trials, N]
  Scalar* dc = nullptr;          // low rank with c: [trials, R]
  Scalar* dAt = nullptr;         // low rank: [trials, R, N]
  Scalar* dBt = nullptr;         // low rank: [trials, R, N]
  Scalar* dW = nullptr;          // dense: [trials, N, N]
  Scalar* d_drive = nullptr;     // [trials, T_in, N]
  Scalar* d_constant = nullptr;  // [trials, N]
  Scalar* d_inv_tau = nullptr;   // [trials] or null (tau not learnt)
};

// `p`'s pointers are device pointers except p.input_slot, which is read on the host;
// `input_slot_on_device` is the same [n_bins] on the device. `stream` is a cudaStream_t.
// Both throw std::runtime_error with CUDA's message when a launch fails.
template <class Scalar>
void integrate_trials_cuda(const FusedProblem<Scalar>& p, const Scalar* x0, const int64_t* input_slot_on_device,
                           void* stream);
template <class Scalar>
void adjoint_trials_cuda(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                         const DeviceTrialGradients<Scalar>& out, const int64_t* input_slot_on_device, void* stream);

}  // namespace ltrnn
