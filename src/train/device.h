// The device a fit computes on (TrainConfig::device), resolved once per run.
#pragma once
#include <torch/types.h>

#include <string>

#include "train/config.h"

namespace ltrnn {

// cpu -> the CPU; cuda -> the current CUDA device, set up for deterministic float32 (TF32
// only when asked); auto -> cuda when usable, else the CPU. InputError naming `field` when
// cuda is asked for and this build has no CUDA or no device is present.
torch::Device resolve_device(DeviceKind kind, bool tf32, const std::string& field);

}  // namespace ltrnn
