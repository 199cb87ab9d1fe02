// libFuzzer entry point of the npy target (fuzz build only; the body is in fuzz/npy_target.cpp).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ltrnn::fuzz::run_or_abort(ltrnn::fuzz::npy_input, data, size);
}
