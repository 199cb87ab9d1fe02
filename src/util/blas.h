// The BLAS that LibTorch's matrix products run on. Debian's LibTorch calls whatever
// libblas.so.3 the system selects; OpenBLAS keeps its own thread pool, which
// torch::set_num_threads does not reach, and chooses its kernels ("core") once, when it
// loads, from the CPU it recognises (docs/design.md section 8).
#pragma once
#include <iosfwd>
#include <optional>
#include <string>

namespace ltrnn {

// Sets OpenBLAS's thread count when OpenBLAS is the active BLAS; a no-op otherwise.
void set_blas_threads(int threads);
// "OpenBLAS <config>" when OpenBLAS is active, else "unknown (not OpenBLAS)".
std::string blas_description();
// The kernels OpenBLAS chose ("Haswell", "Zen", "Prescott", ...); empty when not OpenBLAS.
std::string blas_core();

struct CpuFeatures {
  bool avx2 = false, fma = false, avx512f = false;
};
CpuFeatures cpu_features();
// "avx2 fma avx512f": the features above that this CPU has.
std::string describe(const CpuFeatures& cpu);

// The OpenBLAS core to use instead of `chosen` on a CPU with `cpu`'s features, when
// `chosen` is older than the CPU: OpenBLAS 0.3.21 does not recognise some current CPUs
// (e.g. Intel Sapphire Rapids) and falls back to its SSE3 "Prescott" kernels, 2.3x slower
// on B1. Haswell's AVX2 + FMA kernels for any CPU with AVX2 and FMA (on AVX-512 CPUs
// SkylakeX's measured no faster). nullopt when `chosen` already uses AVX2 or better, is
// unknown (empty), or the CPU lacks AVX2 or FMA.
std::optional<std::string> better_blas_core(const std::string& chosen, const CpuFeatures& cpu);

// Environment variables of the restart below.
inline constexpr const char* kBlasCoreVariable = "OPENBLAS_CORETYPE";        // read by OpenBLAS when it loads
inline constexpr const char* kBlasRestartMarker = "LTRNN_BLAS_CORE_CHOSEN";  // set by the restart: never twice
// Tests only: the core to take as OpenBLAS's own choice when OPENBLAS_CORETYPE is unset (a
// CPU OpenBLAS misjudges cannot be had on demand).
inline constexpr const char* kBlasAssumedCoreVariable = "LTRNN_TEST_BLAS_CORE";

// How OpenMP threads wait (libgomp reads these when it loads). Threads that spin while
// waiting for work take the cores another process needs: two B1 benchmarks at once on 2
// cores took 2.6-5x their time alone with libgomp's default spin (300,000 iterations),
// 1.8-2.1x with 1,000, which is no slower alone (docs/design.md section 8).
inline constexpr const char* kSpinCountVariable = "GOMP_SPINCOUNT";
inline constexpr const char* kWaitPolicyVariable = "OMP_WAIT_POLICY";
inline constexpr const char* kComputeSpinCount = "1000";

// Restarts this process, once, with the runtime settings that only act at load time:
//  - when OPENBLAS_CORETYPE is unset and OpenBLAS chose kernels older than this CPU supports
//    (better_blas_core), OPENBLAS_CORETYPE set to the better core, with one line to `note`;
//  - for a command that computes (`computes`), GOMP_SPINCOUNT=1000 when neither it nor
//    OMP_WAIT_POLICY is set (silently).
// The process is replaced by a fresh start of the same executable and arguments. A value
// the user set is never overridden, and a process that is itself such a restart is never
// restarted again (it warns instead if the BLAS kernels still did not change). Returns only
// when no restart happened (or it failed, with a warning).
void restart_with_runtime_settings(const char* const* argv, bool computes, std::ostream& note);
// The waiting of OpenMP threads as this process runs: "GOMP_SPINCOUNT=1000", "OMP_WAIT_POLICY=passive", or
// "libgomp's default".
std::string openmp_waiting();

}  // namespace ltrnn
