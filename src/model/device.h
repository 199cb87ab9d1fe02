// What this build can compute on, and the few device calls whose LibTorch API differs
// between the CPU build (Debian's LibTorch 1.13) and a CUDA build (LibTorch 2.x): the one
// place that includes CUDA headers besides the kernels (docs/design.md section 11).
#pragma once
#include <torch/types.h>

#include <string>

namespace ltrnn {

// Whether this ltrnn was built with CUDA (cmake -DLTRNN_CUDA=ON against a CUDA LibTorch).
bool built_with_cuda();
// A CUDA device can be used now: built with CUDA and a device is present.
bool cuda_usable();
// The CUDA numerics every CUDA fit uses: deterministic algorithms (cuBLAS's fixed workspace
// and index_add's sorted path), and TensorFloat-32 in matrix products only when `tf32`.
// Set once per process, by the first call (process-wide state that running fits read).
void configure_cuda_numerics(bool tf32);
// LibTorch's current CUDA stream (a cudaStream_t) of the current device.
void* current_cuda_stream();
// Waits for the work queued on `device` (nothing on the CPU): for timings.
void synchronize(const torch::Device& device);
// The CUDA caching allocator's peak since the last reset: bytes handed to tensors, and
// bytes held from the device (what another process could not use). Zeros on the CPU build.
struct DeviceMemoryPeak {
  double allocated_mib = 0, reserved_mib = 0;
};
void reset_device_memory_peak();
DeviceMemoryPeak device_memory_peak();
// "NVIDIA H200, compute capability 9.0, 139.8 GiB, 132 multiprocessors" (empty without CUDA).
std::string cuda_device_description();

}  // namespace ltrnn
