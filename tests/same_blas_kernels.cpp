// Every ltrnn process a test starts computes with the OpenBLAS kernels of the test process
// itself: OPENBLAS_CORETYPE, when unset, is set to them before any test runs, so that the
// ltrnn executable never restarts on other kernels (util/blas.h) and the numbers it writes
// are the numbers a test computes in-process for comparison (results, reports). The OpenMP
// spin count is set likewise, so that no test pays for the restart that would set it.
#include <cstdlib>
#include <string>

#include "util/blas.h"

namespace ltrnn {
namespace {

[[maybe_unused]] const bool kernels_pinned = [] {
  const std::string core = blas_core();  // OpenBLAS, a dependency, is loaded and initialised
  if (!core.empty()) setenv(kBlasCoreVariable, core.c_str(), /*overwrite=*/0);
  // The OpenMP waiting the ltrnn executable would restart to set: set, so it never does.
  if (!std::getenv(kWaitPolicyVariable)) setenv(kSpinCountVariable, kComputeSpinCount, /*overwrite=*/0);
  return true;
}();

}  // namespace
}  // namespace ltrnn
