// Precompiled header: the heavy LibTorch headers, compiled once per build.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
