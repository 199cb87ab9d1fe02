// libFuzzer entry point of the experiment target (fuzz build only; the body is in fuzz/experiment_target.cpp).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ltrnn::fuzz::run_or_abort(ltrnn::fuzz::experiment_input, data, size);
}
