// Resolving TrainConfig::device (train/device.h).
#include "train/device.h"

#include "model/device.h"
#include "util/errors.h"

namespace ltrnn {

torch::Device resolve_device(DeviceKind kind, bool tf32, const std::string& field) {
  if (kind == DeviceKind::Cpu || (kind == DeviceKind::Auto && !cuda_usable())) return torch::kCPU;
  if (!built_with_cuda())
    throw InputError(field +
                     ": 'cuda' asked for, but this ltrnn was built without CUDA; build it against a CUDA "
                     "LibTorch with -DLTRNN_CUDA=ON (docs/gpu.md), or use 'cpu'");
  if (!cuda_usable())
    throw InputError(field +
                     ": 'cuda' asked for, but no CUDA device is present (check nvidia-smi and "
                     "CUDA_VISIBLE_DEVICES), or use 'cpu'");
  configure_cuda_numerics(tf32);
  return torch::Device(torch::kCUDA);
}

}  // namespace ltrnn
