// The set-up installs OpenBLAS; ltrnn finds it at run time (for its thread count and the
// start-up warning about a slow reference BLAS).
#include "util/blas.h"

#include <gtest/gtest.h>

namespace ltrnn {
namespace {

TEST(Blas, OpenBlasIsTheActiveBlas) {
  EXPECT_EQ(blas_description().rfind("OpenBLAS", 0), 0u) << blas_description();
  set_blas_threads(1);  // must not crash; the pool is process-wide
  set_blas_threads(2);
}

}  // namespace
}  // namespace ltrnn
