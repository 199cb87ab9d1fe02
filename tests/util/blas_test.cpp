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

TEST(Blas, KernelsOlderThanTheCpuAreReplacedByHaswells) {
  const CpuFeatures avx2{true, true, false}, avx512{true, true, true};
  EXPECT_EQ(better_blas_core("Prescott", avx2), "Haswell");  // Sapphire Rapids under OpenBLAS 0.3.21
  EXPECT_EQ(better_blas_core("Sandybridge", avx512), "Haswell");
  EXPECT_EQ(better_blas_core("Nehalem", avx2), "Haswell");
  for (const char* modern : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "HASWELL", "zen"})
    EXPECT_EQ(better_blas_core(modern, avx512), std::nullopt) << modern;
}

TEST(Blas, NothingIsChangedWithoutAvx2AndFmaOrWithoutOpenBlas) {
  EXPECT_EQ(better_blas_core("Prescott", CpuFeatures{false, false, false}), std::nullopt);
  EXPECT_EQ(better_blas_core("Sandybridge", CpuFeatures{false, true, false}), std::nullopt);
  EXPECT_EQ(better_blas_core("Prescott", CpuFeatures{true, false, false}), std::nullopt);
  EXPECT_EQ(better_blas_core("", CpuFeatures{true, true, true}), std::nullopt);
}

TEST(Blas, TheActiveCoreIsNamedAndTheCpuDescribed) {
  EXPECT_FALSE(blas_core().empty());
  EXPECT_NE(blas_description().find(blas_core()), std::string::npos) << blas_description();
  EXPECT_EQ(describe(CpuFeatures{true, true, false}), "avx2 fma");
  EXPECT_EQ(describe(CpuFeatures{}), "no avx2, fma or avx512f");
}

}  // namespace
}  // namespace ltrnn
