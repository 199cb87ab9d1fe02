// `ltrnn bench`: milliseconds per training iteration on the benchmark configurations of
// docs/design.md section 8 (B1 and its scaling over K, N and R), with GFLOP/s and peak memory.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/config.h"

namespace ltrnn {

// One benchmark case: a model family and the sizes of a synthetic dataset.
struct BenchCase {
  std::string name = "B1";
  ModelKind kind = kReferenceFamily;
  int64_t hidden = 200;   // N
  int64_t rank = 5;       // R
  int64_t trials = 250;   // K
  int64_t neurons = 100;  // D
  int64_t bins = 60;      // T (preparatory + execution)
  int64_t preparatory_bins = 10;
  int64_t conditions = 8;
  Solver solver = Solver::Heun;
  int64_t substeps = 1;
  bool float64 = false;
  int64_t threads = 2;
  int64_t iterations = 20;  // timed iterations
  int64_t warmup = 3;       // untimed iterations before them
  DeviceKind device = DeviceKind::Cpu;
  // The fused integrator (docs/design.md section 3); false: the generic path of one
  // LibTorch operation per step, for comparison.
  bool fused = true;

  // Every field under its JSON name (util/fields.h): serialisation and parsing both walk it.
  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("name", c.name);
    v.field("model", c.kind);
    v.field("hidden", c.hidden);
    v.field("rank", c.rank);
    v.field("trials", c.trials);
    v.field("neurons", c.neurons);
    v.field("bins", c.bins);
    v.field("preparatory_bins", c.preparatory_bins);
    v.field("conditions", c.conditions);
    v.field("solver", c.solver);
    v.field("substeps", c.substeps);
    v.field("float64", c.float64);
    v.field("threads", c.threads);
    v.field("iterations", c.iterations);
    v.field("warmup", c.warmup);
    v.field("device", c.device);
    v.field("fused", c.fused);
  }
};

struct BenchResult {
  BenchCase config;
  std::vector<double> milliseconds;  // per timed iteration
  double median_ms = 0, min_ms = 0, max_ms = 0;
  double gflop = 0;               // GEMM work of one iteration (forward + backward), see iteration_gflop
  double gflops = 0;              // gflop / median time
  double peak_rss_mb = 0;         // peak resident memory of the process that ran the case
  double estimated_mb = 0;        // what the plan's estimate (train/memory.h) expected of it
  double probe_fraction = 0;      // gflops / the GEMM probe's GFLOP/s at the same thread count (0: no probe)
  double device_peak_mb = 0;      // CUDA: the caching allocator's peak bytes handed to tensors (0 on the CPU)
  double device_reserved_mb = 0;  // CUDA: its peak bytes held from the device

  template <class Self, class Visitor>
  static void fields(Self& r, Visitor& v) {
    v.field("case", r.config);
    v.field("milliseconds", r.milliseconds);
    v.field("median_ms", r.median_ms);
    v.field("min_ms", r.min_ms);
    v.field("max_ms", r.max_ms);
    v.field("gflop", r.gflop);
    v.field("gflops", r.gflops);
    v.field("peak_rss_mb", r.peak_rss_mb);
    v.field("estimated_mb", r.estimated_mb);
    v.field("probe_fraction", r.probe_fraction);
    v.field("device_peak_mb", r.device_peak_mb);
    v.field("device_reserved_mb", r.device_reserved_mb);
  }
};

// A plain square float32 GEMM through LibTorch and the BLAS, timed in the same run as the
// cases: what this machine's BLAS attains, so that a case's GFLOP/s can be read as a
// fraction of it, comparable across machines. Also checked against a float64 reference
// product computed without the BLAS.
struct GemmProbe {
  int64_t size = 0, threads = 0;
  double gflops = 0;              // the fastest of 20 timed products
  double max_relative_error = 0;  // max |C - C_ref| / (|A| |B|) over the checked entries
  double error_bound = 0;         // size * float32 unit roundoff: a correct GEMM stays below it
};

// The GPU's ceilings, measured in the same run as the cases: a square float32 GEMM (TF32
// off) and a device-to-device copy.
struct DeviceProbe {
  std::string device;  // model/device.h cuda_device_description()
  int64_t size = 0;
  double gflops = 0;         // the fastest of 20 timed products
  double copy_gb_per_s = 0;  // bytes read + written per second, the fastest of 20 copies of 1 GiB
};

void to_json(nlohmann::json& j, const BenchCase& c);
void from_json(const nlohmann::json& j, BenchCase& c);
void to_json(nlohmann::json& j, const BenchResult& r);
void from_json(const nlohmann::json& j, BenchResult& r);
void to_json(nlohmann::json& j, const GemmProbe& p);

// Times `size` x `size` products with `threads` threads and checks the first rows against
// the reference; throws std::runtime_error naming the BLAS kernels when they are wrong.
GemmProbe run_gemm_probe(int64_t threads, int64_t size = 1024);

// Times the CUDA device's ceilings (DeviceProbe); InputError when CUDA is not usable.
DeviceProbe run_device_probe(int64_t size = 8192);
void to_json(nlohmann::json& j, const DeviceProbe& p);

// B1 of docs/design.md section 8 for a model family: N = 200, R = 5, K = 250, D = 100, T = 60
// (10 preparatory + 50 execution bins), 8 conditions, Heun with one substep, float32.
BenchCase b1_case(ModelKind kind, int64_t threads);
// The named cases `ltrnn bench` runs: B1 for every family and B1 with one thread, and
// with `scaling` B1 with K, N and R each varied over a doubling series.
std::vector<BenchCase> standard_cases(bool scaling, int64_t threads);
// On a CUDA device (`ltrnn bench --device cuda`): B1 for every family, the shape of the
// reference's notebook (T 41, K 250, D 200, R 5) and a recording of today's size (T 100,
// K 1000, D 200, N 200, R 6), all float32.
std::vector<BenchCase> device_cases();
// Matrix-product FLOPs of one training iteration: readout and recurrent products in the
// forward pass, times 3 for forward + backward (each GEMM's backward is two GEMMs).
double iteration_gflop(const BenchCase& c);

// Fits a model to a seeded synthetic dataset of the case's sizes for warmup + iterations
// Adam iterations (plateau rule off) and times each one. peak_rss_mb is this process's peak.
BenchResult run_bench_case(const BenchCase& c);

// Runs the case in a fresh process (`executable bench --case JSON`), so that its peak
// memory is its own; throws std::runtime_error when the child fails.
BenchResult run_bench_case_in_child(const BenchCase& c, const std::string& executable);

// `copies` processes of the case started at once (the machine shared, as by ltrnn run
// --jobs or another program), each timed on its own.
std::vector<BenchResult> run_bench_case_together(const BenchCase& c, int64_t copies, const std::string& executable);
// "B1 shared by 2 processes at once: alone 47.0 ms; 80.1 ms (x1.70) 82.3 ms (x1.75); ...".
std::string format_sharing(const BenchResult& alone, const std::vector<BenchResult>& together);

// The table `ltrnn bench` prints, and, for scaling series, the growth per doubling.
std::string format_bench_table(const std::vector<BenchResult>& results);
// The header above it: the CPU, the BLAS and its kernels, and the probes.
std::string format_bench_header(const std::vector<GemmProbe>& probes);
std::string format_device_header(const DeviceProbe& probe);

}  // namespace ltrnn
