// ltrnn bench: the FLOP model, the timing of a case, and the command's refusals.
#include "bench/bench.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_ltrnn.h"
#include "test_paths.h"
#include "util/blas.h"

namespace ltrnn {
namespace {

TEST(Bench, B1MatchesDesignSection4) {
  const BenchCase b1 = b1_case(ModelKind::TensorRank, 2);
  EXPECT_EQ(b1.name, "B1");
  EXPECT_EQ(b1.hidden, 200);
  EXPECT_EQ(b1.rank, 5);
  EXPECT_EQ(b1.trials, 250);
  EXPECT_EQ(b1.neurons, 100);
  EXPECT_EQ(b1.bins, 60);
  EXPECT_EQ(b1.preparatory_bins, 10);
  EXPECT_EQ(b1.conditions, 8);
  EXPECT_EQ(b1.solver, Solver::Heun);
  EXPECT_EQ(b1.substeps, 1);
  EXPECT_FALSE(b1.float64);
}

TEST(Bench, FlopCountOfB1) {
  // Readout 2 T K D N and, per Heun step (two drift evaluations, T - 1 steps), two
  // K x N x R products each way; forward + backward = 3 x forward.
  const double readout = 2.0 * 60 * 250 * 100 * 200;
  const double recurrent = 2.0 * 59 * (2.0 * 2 * 250 * 200 * 5);
  EXPECT_NEAR(iteration_gflop(b1_case(ModelKind::TensorRank, 2)), 3 * (readout + recurrent) * 1e-9, 1e-12);
  // Full-rank families pay N x N per trial and evaluation.
  const double dense = 2.0 * 59 * (2.0 * 250 * 200 * 200);
  EXPECT_NEAR(iteration_gflop(b1_case(ModelKind::Full, 2)), 3 * (readout + dense) * 1e-9, 1e-12);
}

TEST(Bench, ScalingSeriesDoubleOneSizeAtATime) {
  const auto cases = standard_cases(/*scaling=*/true, 2);
  int k_cases = 0;
  for (const auto& c : cases) {
    if (c.name.rfind("scaling K=", 0) != 0) continue;
    ++k_cases;
    EXPECT_EQ(c.hidden, 200);
    EXPECT_EQ(c.rank, 5);
  }
  EXPECT_EQ(k_cases, 4);
  EXPECT_EQ(standard_cases(/*scaling=*/false, 2).size(), 5u);  // four families + one thread
}

TEST(Bench, TimesEveryIterationOfASmallCase) {
  BenchCase c;
  c.name = "tiny";
  c.hidden = 12;
  c.rank = 2;
  c.trials = 10;
  c.neurons = 6;
  c.bins = 8;
  c.preparatory_bins = 2;
  c.conditions = 2;
  c.threads = 1;
  c.iterations = 5;
  c.warmup = 1;
  const BenchResult r = run_bench_case(c);
  ASSERT_EQ(r.milliseconds.size(), 5u);
  EXPECT_GT(r.min_ms, 0);
  EXPECT_LE(r.min_ms, r.median_ms);
  EXPECT_LE(r.median_ms, r.max_ms);
  EXPECT_GT(r.peak_rss_mb, 1.0);
  EXPECT_NEAR(r.gflops, r.gflop / (r.median_ms * 1e-3), 1e-9);
  // The JSON written by `ltrnn bench` reads back to the same result.
  const BenchResult back = nlohmann::json(r).get<BenchResult>();
  EXPECT_EQ(back.config.name, "tiny");
  EXPECT_EQ(back.milliseconds, r.milliseconds);
  const std::string table = format_bench_table({r});
  EXPECT_NE(table.find("tiny"), std::string::npos);
}

TEST(BenchCli, RefusesUnknownCasesAndBadCounts) {
  const Outcome unknown = run_ltrnn("bench --config B7");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("--config: unknown case 'B7'; expected one of: B1"), std::string::npos)
      << unknown.output;
  const Outcome no_iterations = run_ltrnn("bench --iterations 0");
  EXPECT_EQ(no_iterations.exit_code, 2);
  EXPECT_NE(no_iterations.output.find("--iterations: must be >= 1"), std::string::npos) << no_iterations.output;
  const Outcome bad_case = run_ltrnn("bench --case '{\"name\": 3}'");
  EXPECT_EQ(bad_case.exit_code, 2);
  EXPECT_NE(bad_case.output.find("--case: expected a benchmark case as JSON"), std::string::npos) << bad_case.output;
}

TEST(BenchCli, RunsACaseInAChildProcessAndWritesJson) {
  BenchCase c;
  c.name = "tiny";
  c.hidden = 10;
  c.rank = 1;
  c.trials = 8;
  c.neurons = 4;
  c.bins = 6;
  c.preparatory_bins = 1;
  c.conditions = 2;
  c.threads = 1;
  c.iterations = 3;
  c.warmup = 0;
  const BenchResult r = run_bench_case_in_child(c, LTRNN_BINARY);
  EXPECT_EQ(r.milliseconds.size(), 3u);
  EXPECT_EQ(r.config.hidden, 10);
  EXPECT_GT(r.peak_rss_mb, 1.0);
}

// The restart on better OpenBLAS kernels (util/blas.h), through `ltrnn bench --probe`,
// which prints the kernels in use and checks a GEMM against a reference product (exit 1
// if it is wrong). A CPU that OpenBLAS misjudges is stood in for by LTRNN_TEST_BLAS_CORE.
int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(BlasKernels, OldKernelsOnAnAvx2CpuRestartOnceOnHaswells) {
  if (!cpu_features().avx2 || !cpu_features().fma) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  const Outcome o = run_ltrnn("bench --probe", "-u OPENBLAS_CORETYPE LTRNN_TEST_BLAS_CORE=Prescott");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(count_of(o.output, "restarting with OPENBLAS_CORETYPE=Haswell"), 1) << o.output;
  EXPECT_EQ(count_of(o.output, "OpenBLAS chose its Prescott kernels"), 1) << o.output;
  EXPECT_EQ(count_of(o.output, "GEMM probe:"), 1) << o.output;  // the restarted process ran once
  EXPECT_NE(o.output.find("BLAS kernels: Haswell (OPENBLAS_CORETYPE=Haswell)"), std::string::npos) << o.output;
}

TEST(BlasKernels, ARestartWhoseKernelsDidNotChangeWarnsAndIsNotRepeated) {
  if (!cpu_features().avx2 || !cpu_features().fma) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  // What a restarted process sees if OpenBLAS ignored the variable: still Prescott.
  const Outcome o = run_ltrnn("bench --probe", "OPENBLAS_CORETYPE=Prescott LTRNN_BLAS_CORE_CHOSEN=Haswell");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(count_of(o.output, "restarting"), 0) << o.output;
  EXPECT_EQ(count_of(o.output, "restarted with OPENBLAS_CORETYPE=Haswell but OpenBLAS still uses its Prescott"), 1)
      << o.output;
  EXPECT_EQ(count_of(o.output, "GEMM probe:"), 1) << o.output;
}

TEST(BlasKernels, TheUsersChoiceIsKept) {
  const Outcome o = run_ltrnn("bench --probe", "OPENBLAS_CORETYPE=Prescott");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(count_of(o.output, "restart"), 0) << o.output;
  EXPECT_NE(o.output.find("BLAS kernels: Prescott (OPENBLAS_CORETYPE=Prescott)"), std::string::npos) << o.output;
}

// The OpenMP waiting (util/blas.h): a computing command started without GOMP_SPINCOUNT or
// OMP_WAIT_POLICY restarts once with GOMP_SPINCOUNT=1000 (what the process then runs with
// is printed by bench); a setting of the user's is kept.
TEST(OpenMpWaiting, AComputingCommandRestartsOnceWithAShortSpin) {
  const Outcome o = run_ltrnn("bench --probe", "-u GOMP_SPINCOUNT -u OMP_WAIT_POLICY");
  ASSERT_EQ(o.exit_code, 0) << o.output;
  EXPECT_EQ(count_of(o.output, "OpenMP threads wait: GOMP_SPINCOUNT=1000\n"), 1) << o.output;
  EXPECT_EQ(count_of(o.output, "GEMM probe:"), 1) << o.output;  // the restarted process ran once
  EXPECT_EQ(count_of(o.output, "restart"), 0) << o.output;      // silently
}

TEST(OpenMpWaiting, TheUsersSettingIsKept) {
  const Outcome passive = run_ltrnn("bench --probe", "-u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive");
  ASSERT_EQ(passive.exit_code, 0) << passive.output;
  EXPECT_NE(passive.output.find("OpenMP threads wait: OMP_WAIT_POLICY=passive\n"), std::string::npos) << passive.output;
  const Outcome spin = run_ltrnn("bench --probe", "-u OMP_WAIT_POLICY GOMP_SPINCOUNT=50000");
  ASSERT_EQ(spin.exit_code, 0) << spin.output;
  EXPECT_NE(spin.output.find("OpenMP threads wait: GOMP_SPINCOUNT=50000\n"), std::string::npos) << spin.output;
}

// GEMM under each kernel set this CPU can run agrees with the reference product within the
// rounding bound (run_gemm_probe throws, and bench exits 1, otherwise).
TEST(BlasKernels, EveryUsableKernelSetMultipliesCorrectly) {
  std::vector<std::string> cores{"Prescott"};
  if (cpu_features().avx2 && cpu_features().fma) cores.insert(cores.end(), {"Sandybridge", "Haswell", "Zen"});
  if (cpu_features().avx512f) cores.push_back("SkylakeX");
  for (const std::string& core : cores) {
    const Outcome o = run_ltrnn("bench --probe", "OPENBLAS_CORETYPE=" + core);
    EXPECT_EQ(o.exit_code, 0) << core << ": " << o.output;
    EXPECT_NE(o.output.find("BLAS kernels: " + core), std::string::npos) << o.output;
  }
}

TEST(BlasKernels, TheProbeMeasuresAndChecksAPlainProduct) {
  const GemmProbe probe = run_gemm_probe(1, 256);
  EXPECT_GT(probe.gflops, 0.1);
  EXPECT_GT(probe.max_relative_error, 0.0);  // float32 rounds: an exact zero would mean no check
  EXPECT_LE(probe.max_relative_error, probe.error_bound);
  EXPECT_DOUBLE_EQ(probe.error_bound, 256 * std::ldexp(1.0, -24));
}

bool built_with_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

// The plan's memory estimate (train/memory.h) against the measured peak of a real fit, for
// a case the runtime dominates and one whose K x N x N weights dominate (0.6 GB).
TEST(BenchCli, MemoryEstimateIsWithinAThirdOfTheMeasuredPeak) {
  if (built_with_address_sanitizer()) {
    // AddressSanitizer's shadow memory and freed-memory quarantine add hundreds of MiB to the
    // peak RSS: the estimate is of an ordinary build and is checked there.
    GTEST_SKIP() << "the peak of an AddressSanitizer build is not the peak users see";
  }
  BenchCase small;
  small.name = "small";
  small.hidden = 20, small.rank = 2, small.trials = 20, small.neurons = 10, small.bins = 12;
  small.preparatory_bins = 2, small.conditions = 2, small.threads = 1, small.iterations = 2, small.warmup = 0;
  BenchCase full = small;
  full.name = "full";
  full.kind = ModelKind::Full;
  full.hidden = 200, full.trials = 60, full.bins = 30, full.neurons = 50, full.preparatory_bins = 5;
  for (const BenchCase& c : {small, full}) {
    const BenchResult r = run_bench_case_in_child(c, LTRNN_BINARY);
    EXPECT_GT(r.estimated_mb, 0.75 * r.peak_rss_mb) << c.name << ": measured " << r.peak_rss_mb << " MiB";
    EXPECT_LT(r.estimated_mb, 1.33 * r.peak_rss_mb) << c.name << ": measured " << r.peak_rss_mb << " MiB";
  }
}

}  // namespace
}  // namespace ltrnn
