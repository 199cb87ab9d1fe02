// Device support (model/device.h): LibTorch calls for CUDA, compiled only with LTRNN_CUDA.
#include "model/device.h"

#include <torch/cuda.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "ltrnn_build_config.h"

#ifdef LTRNN_CUDA
#include <ATen/Context.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace ltrnn {

bool built_with_cuda() {
#ifdef LTRNN_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_usable() { return built_with_cuda() && torch::cuda::is_available(); }

#ifdef LTRNN_CUDA

void configure_cuda_numerics(bool tf32) {
  // Once per process, before the first fit: these are process-wide settings that running
  // fits read (with ltrnn run --jobs, the runs' threads would otherwise set them while
  // others compute; a run of the quickstart on CUDA with --jobs 4 failed with std::bad_cast
  // at its first iteration when each run set them). The first caller's tf32 holds.
  static std::once_flag once;
  std::call_once(once, [tf32] {
    // cuBLAS is deterministic with a fixed workspace; set before its first use (an explicit
    // setting in the environment wins).
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/true);
    // "highest": float32 products in float32; "high" lets cuBLAS use TensorFloat-32.
    at::globalContext().setFloat32MatmulPrecision(tf32 ? "high" : "highest");
  });
}

void* current_cuda_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

void reset_device_memory_peak() {
  if (torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::resetPeakStats(c10::cuda::current_device());
}

DeviceMemoryPeak device_memory_peak() {
  if (!torch::cuda::is_available()) return {};
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(c10::cuda::current_device());
  constexpr double mib = 1024.0 * 1024.0;
  // Index 0 of each statistic is the aggregate over pool kinds.
  return {static_cast<double>(stats.allocated_bytes[0].peak) / mib,
          static_cast<double>(stats.reserved_bytes[0].peak) / mib};
}

std::string cuda_device_description() {
  if (!torch::cuda::is_available()) return "";
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, device) != cudaSuccess) return "CUDA device " + std::to_string(device);
  char text[512];
  std::snprintf(text, sizeof text, "%s, compute capability %d.%d, %.1f GiB, %d multiprocessors", properties.name,
                properties.major, properties.minor, properties.totalGlobalMem / (1024.0 * 1024.0 * 1024.0),
                properties.multiProcessorCount);
  return text;
}

#else

void configure_cuda_numerics(bool) {}
void* current_cuda_stream() { throw std::logic_error("current_cuda_stream: ltrnn was built without CUDA"); }
void synchronize(const torch::Device&) {}
void reset_device_memory_peak() {}
DeviceMemoryPeak device_memory_peak() { return {}; }
std::string cuda_device_description() { return ""; }

#endif

}  // namespace ltrnn
