// OpenBLAS's thread count, found at run time (dlsym) so that ltrnn runs on any BLAS.
#include "util/blas.h"

#include <dlfcn.h>

namespace ltrnn {

void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

std::string blas_description() {
  using GetConfig = char* (*)();
  if (auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    const std::string text = config();
    return text.rfind("OpenBLAS", 0) == 0 ? text : "OpenBLAS " + text;
  }
  return "unknown (not OpenBLAS)";
}

}  // namespace ltrnn
