// Benchmark cases, their timing and their table (docs/design.md section 8).
#include "bench/bench.h"

#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "data/dataset.h"
#include "data/masks.h"
#include "model/butcher_tableau.h"
#include "model/device.h"
#include "model/family.h"
#include "model/ltrnn_model.h"
#include "train/device.h"
#include "train/fit.h"
#include "train/memory.h"
#include "util/blas.h"
#include "util/json_fields.h"
#include "util/machine.h"

namespace ltrnn {
using nlohmann::json;

// The field lists of bench.h through util/json_fields.h; a field a file lacks (one written
// before the field existed) keeps its default.
void to_json(json& j, const BenchCase& c) { j = fields_to_json(c); }
void from_json(const json& j, BenchCase& c) {
  c = BenchCase{};
  overlay_fields(c, j, "bench case");
}
void to_json(json& j, const BenchResult& r) { j = fields_to_json(r); }
void from_json(const json& j, BenchResult& r) {
  r = BenchResult{};
  overlay_fields(r, j, "bench result");
}
void to_json(json& j, const GemmProbe& p) {
  j = json{{"size", p.size},
           {"threads", p.threads},
           {"gflops", p.gflops},
           {"max_relative_error", p.max_relative_error},
           {"error_bound", p.error_bound}};
}

BenchCase b1_case(ModelKind kind, int64_t threads) {
  BenchCase c;
  c.kind = kind;
  c.threads = threads;
  c.name = kind == reference_family() ? "B1" : "B1 " + to_string(kind);
  if (threads != 2) c.name += " threads=" + std::to_string(threads);
  return c;
}

std::vector<BenchCase> device_cases() {
  std::vector<BenchCase> cases;
  for (const FamilyTraits* family : family_table()) {
    BenchCase c = b1_case(family->kind, 2);
    c.device = DeviceKind::Cuda;
    cases.push_back(c);
  }
  BenchCase notebook = b1_case(reference_family(), 2);
  notebook.name = "notebook";
  notebook.bins = 41, notebook.neurons = 200;
  notebook.device = DeviceKind::Cuda;
  cases.push_back(notebook);
  // B1 with one LibTorch operation per step: what the fused kernels save.
  BenchCase generic = b1_case(reference_family(), 2);
  generic.name = "B1 generic path";
  generic.fused = false;
  generic.device = DeviceKind::Cuda;
  cases.push_back(generic);
  BenchCase recording = b1_case(reference_family(), 2);
  recording.name = "recording";
  recording.bins = 100, recording.trials = 1000, recording.neurons = 200, recording.rank = 6;
  recording.device = DeviceKind::Cuda;
  cases.push_back(recording);
  return cases;
}

std::vector<BenchCase> standard_cases(bool scaling, int64_t threads) {
  std::vector<BenchCase> cases;
  for (const FamilyTraits* family : family_table()) cases.push_back(b1_case(family->kind, threads));
  cases.push_back(b1_case(reference_family(), 1));
  if (!scaling) return cases;
  // Doubling series around B1 (the reference family): each varies one size, the others stay at B1.
  const auto series = [&](const std::string& key, std::vector<int64_t> values, int64_t BenchCase::*field) {
    for (int64_t v : values) {
      BenchCase c = b1_case(reference_family(), threads);
      c.*field = v;
      c.name = "scaling " + key + "=" + std::to_string(v);
      cases.push_back(c);
    }
  };
  series("K", {125, 250, 500, 1000}, &BenchCase::trials);
  series("N", {100, 200, 400, 800}, &BenchCase::hidden);
  series("R", {1, 2, 5, 10, 20}, &BenchCase::rank);
  return cases;
}

double iteration_gflop(const BenchCase& c) {
  const double K = c.trials, N = c.hidden, R = c.rank, D = c.neurons, T = c.bins;
  const double evaluations = static_cast<double>(butcher_tableau(c.solver).stages()) * (T - 1) * c.substeps;
  // The recurrent term's products per drift evaluation, as the family counts them.
  const double recurrent = family_traits(c.kind).recurrent_flop(K, N, R);
  const double readout = 2 * T * K * D * N;
  return 3 * (readout + evaluations * recurrent) * 1e-9;
}

namespace {

// A synthetic dataset of the case's sizes: Gaussian activity, conditions cycling over
// trials, three epochs, `preparatory_bins` bins before the go cue at t = 0.
Dataset synthetic_dataset(const BenchCase& c) {
  Dataset ds;
  ds.data = torch::randn({c.bins, c.trials, c.neurons}, torch::kFloat64);
  ds.condition = torch::arange(c.trials, torch::kInt64).remainder(c.conditions);
  for (int64_t i = 0; i < c.conditions; ++i) ds.condition_labels.push_back(i);
  ds.epoch = (torch::arange(c.trials, torch::kInt64) * 3).div(c.trials, "floor");
  ds.epoch_labels = {"0", "1", "2"};
  ds.trial_id = torch::arange(c.trials, torch::kInt64);
  ds.times = (torch::arange(c.bins, torch::kFloat64) - static_cast<double>(c.preparatory_bins)) * 0.02;
  return ds;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

BenchResult run_bench_case(const BenchCase& c) {
  use_compute_threads(static_cast<int>(c.threads));
  torch::manual_seed(0);
  const Dataset ds = synthetic_dataset(c);
  const Masks masks = make_block_masks(c.bins, c.trials, c.neurons, MaskConfig{});

  ModelConfig model_config;
  model_config.kind = c.kind;
  model_config.hidden = c.hidden;
  model_config.rank = c.rank;
  model_config.solver = c.solver;
  model_config.substeps = c.substeps;
  TrainConfig train;
  train.iterations = c.warmup + c.iterations;
  train.plateau_window = 0;  // a fixed number of iterations
  train.float64 = c.float64;
  train.threads = c.threads;
  train.device = c.device;
  const auto dtype = c.float64 ? torch::kFloat64 : torch::kFloat32;
  const torch::Device device = resolve_device(c.device, false, "bench case '" + c.name + "' device");
  const FitTarget target = on_device(make_fit_target(ds.data, masks, LossKind::MSE, false, dtype), device);
  RnnModel model(model_config, TrialStructure::from_dataset(ds, model_config));
  model->to(dtype);
  model->to(device);
  model->fused_integration = c.fused;
  reset_device_memory_peak();

  BenchResult result;
  result.config = c;
  double previous = 0;
  FitHooks hooks;
  hooks.on_iteration = [&](const IterationRecord& r) {
    if (r.iteration > c.warmup) result.milliseconds.push_back(1e3 * (r.seconds - previous));
    previous = r.seconds;
  };
  PlateauTermination termination(train.plateau_options());
  fit(model, target, train, termination, hooks);

  std::vector<double> sorted = result.milliseconds;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  result.median_ms = n == 0 ? 0 : (n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]));
  result.min_ms = n == 0 ? 0 : sorted.front();
  result.max_ms = n == 0 ? 0 : sorted.back();
  result.gflop = iteration_gflop(c);
  result.gflops = result.median_ms > 0 ? result.gflop / (result.median_ms * 1e-3) : 0;
  result.peak_rss_mb = peak_rss_mb();
  synchronize(device);
  const DeviceMemoryPeak device_memory = device_memory_peak();
  result.device_peak_mb = device_memory.allocated_mib;
  result.device_reserved_mb = device_memory.reserved_mib;
  result.estimated_mb = estimate_peak_bytes(model_config, train, {c.bins, c.trials, c.neurons}) / (1024.0 * 1024.0);
  return result;
}

namespace {

// max over the first `rows` rows of |C - A B| / (|A| |B|), the products summed in float64
// by a plain loop (no BLAS): the componentwise measure of a GEMM's rounding error, which a
// correct float32 product keeps below size * 2^-24 (Higham, Accuracy and Stability of
// Numerical Algorithms, 2002, section 3.5).
double gemm_error(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& product, int64_t rows) {
  const auto A = a.to(torch::kFloat64).contiguous(), B = b.to(torch::kFloat64).contiguous();
  const auto C = product.to(torch::kFloat64).contiguous();
  const int64_t n = A.size(1), m = B.size(1);
  const double *pa = A.data_ptr<double>(), *pb = B.data_ptr<double>(), *pc = C.data_ptr<double>();
  std::vector<double> exact(static_cast<std::size_t>(m)), magnitude(static_cast<std::size_t>(m));
  double worst = 0;
  for (int64_t i = 0; i < rows; ++i) {
    std::fill(exact.begin(), exact.end(), 0.0);
    std::fill(magnitude.begin(), magnitude.end(), 0.0);
    for (int64_t l = 0; l < n; ++l)
      for (int64_t j = 0; j < m; ++j) {
        exact[j] += pa[i * n + l] * pb[l * m + j];
        magnitude[j] += std::abs(pa[i * n + l] * pb[l * m + j]);
      }
    for (int64_t j = 0; j < m; ++j) worst = std::max(worst, std::abs(pc[i * m + j] - exact[j]) / magnitude[j]);
  }
  return worst;
}

}  // namespace

GemmProbe run_gemm_probe(int64_t threads, int64_t size) {
  use_compute_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({size, size}), b = torch::randn({size, size});
  GemmProbe probe;
  probe.size = size;
  probe.threads = threads;
  std::vector<double> seconds;
  torch::Tensor product;
  for (int repeat = 0; repeat < 23; ++repeat) {
    const auto start = std::chrono::steady_clock::now();
    product = torch::mm(a, b);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (repeat >= 3) seconds.push_back(elapsed);  // three warm-ups: threads started, pages touched
  }
  // The fastest of 20: what the BLAS attains here. On shared virtual machines single
  // products alternate between two speeds (measured: 7 and 20 ms at n = 1024, whatever the
  // thread count), and a median would pick either.
  probe.gflops =
      2.0 * static_cast<double>(size * size * size) * 1e-9 / *std::min_element(seconds.begin(), seconds.end());
  probe.max_relative_error = gemm_error(a, b, product, 16);
  probe.error_bound = static_cast<double>(size) * std::ldexp(1.0, -24);
  if (!(probe.max_relative_error <= probe.error_bound))
    throw std::runtime_error("bench: the BLAS's float32 GEMM (" + blas_core() +
                             " kernels) differs from a reference "
                             "product by " +
                             std::to_string(probe.max_relative_error) + " relative, beyond the " +
                             std::to_string(probe.error_bound) +
                             " rounding allows: its kernels are wrong on this "
                             "CPU; choose others with OPENBLAS_CORETYPE");
  return probe;
}

DeviceProbe run_device_probe(int64_t size) {
  const torch::Device device = resolve_device(DeviceKind::Cuda, false, "--device");
  DeviceProbe probe;
  probe.device = cuda_device_description();
  probe.size = size;
  torch::manual_seed(0);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const torch::Tensor a = torch::randn({size, size}, options), b = torch::randn({size, size}, options);
  const int64_t copy_numbers = int64_t{1} << 28;  // 1 GiB of float32
  const torch::Tensor from = torch::randn({copy_numbers}, options);
  torch::Tensor to = torch::empty_like(from), product;
  const auto fastest = [&](const auto& work) {
    double best = INFINITY;
    for (int repeat = 0; repeat < 23; ++repeat) {
      synchronize(device);
      const auto start = std::chrono::steady_clock::now();
      work();
      synchronize(device);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (repeat >= 3) best = std::min(best, elapsed);
    }
    return best;
  };
  probe.gflops = 2.0 * static_cast<double>(size * size * size) * 1e-9 / fastest([&] { product = torch::mm(a, b); });
  probe.copy_gb_per_s = 2.0 * 4.0 * static_cast<double>(copy_numbers) * 1e-9 / fastest([&] { to.copy_(from); });
  return probe;
}

void to_json(json& j, const DeviceProbe& p) {
  j = json{{"device", p.device}, {"size", p.size}, {"gflops", p.gflops}, {"copy_gb_per_s", p.copy_gb_per_s}};
}

std::string format_device_header(const DeviceProbe& p) {
  char line[512];
  std::snprintf(line, sizeof line,
                "GPU: %s\nGEMM probe: %lld x %lld float32 (no TF32): %.1f GFLOP/s; copy probe: %.0f GB/s "
                "(read + written)\n",
                p.device.c_str(), static_cast<long long>(p.size), static_cast<long long>(p.size), p.gflops,
                p.copy_gb_per_s);
  return line;
}

std::string format_bench_table(const std::vector<BenchResult>& results) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %-12s %5s %4s %5s %3s %7s %10s %10s %10s %7s %8s %8s %9s %8s %8s\n", "case",
                "model", "N", "R", "K", "thr", "iters", "median ms", "min ms", "max ms", "GFLOP", "GFLOP/s", "of probe",
                "peak MiB", "est MiB", "GPU MiB");
  out << line;
  for (const auto& r : results) {
    const BenchCase& c = r.config;
    char fraction[16] = "-";
    if (r.probe_fraction > 0) std::snprintf(fraction, sizeof fraction, "%.1f%%", 100 * r.probe_fraction);
    char device_mb[16] = "-";
    if (c.device != DeviceKind::Cpu) std::snprintf(device_mb, sizeof device_mb, "%.0f", r.device_peak_mb);
    std::snprintf(line, sizeof line,
                  "%-22s %-12s %5lld %4lld %5lld %3lld %7zu %10.2f %10.2f %10.2f %7.2f %8.1f %8s %9.0f %8.0f %8s\n",
                  c.name.c_str(), to_string(c.kind).c_str(), static_cast<long long>(c.hidden),
                  static_cast<long long>(c.rank), static_cast<long long>(c.trials), static_cast<long long>(c.threads),
                  r.milliseconds.size(), r.median_ms, r.min_ms, r.max_ms, r.gflop, r.gflops, fraction, r.peak_rss_mb,
                  r.estimated_mb, device_mb);
    out << line;
  }
  // Growth per doubling along each scaling series: (t_b / t_a)^(1 / log2(b / a)).
  for (const std::string key : {"K", "N", "R"}) {
    const BenchResult* previous = nullptr;
    std::string growth;
    for (const auto& r : results) {
      if (r.config.name.rfind("scaling " + key + "=", 0) != 0) continue;
      if (previous) {
        const auto size = [&](const BenchCase& c) {
          return static_cast<double>(key == "K" ? c.trials : key == "N" ? c.hidden : c.rank);
        };
        const double ratio = size(r.config) / size(previous->config);
        const double per_doubling = std::pow(r.median_ms / previous->median_ms, 1.0 / std::log2(ratio));
        std::snprintf(line, sizeof line, "%s %.0f->%.0f: x%.2f", growth.empty() ? "" : ",", size(previous->config),
                      size(r.config), per_doubling);
        growth += line;
      }
      previous = &r;
    }
    if (!growth.empty()) out << "time growth per doubling of " << key << ":" << growth << "\n";
  }
  // Speed-up from threads: B1 with the most threads against B1 with one.
  const BenchResult *one = nullptr, *many = nullptr;
  for (const auto& r : results) {
    if (r.config.kind != reference_family() || r.config.name.rfind("B1", 0) != 0) continue;
    if (r.config.threads == 1)
      one = &r;
    else if (!many || r.config.threads > many->config.threads)
      many = &r;
  }
  if (one && many) {
    std::snprintf(line, sizeof line, "B1 speed-up of %lld threads over 1: x%.2f\n",
                  static_cast<long long>(many->config.threads), one->median_ms / many->median_ms);
    out << line;
  }
  return out.str();
}

std::string format_bench_header(const std::vector<GemmProbe>& probes) {
  std::ostringstream out;
  out << "CPU: " << cpu_model() << " (" << describe(cpu_features()) << ")\n";
  out << "BLAS: " << blas_description() << "\n";
  const std::string core = blas_core();
  if (!core.empty()) {
    const char* set = std::getenv(kBlasCoreVariable);
    out << "BLAS kernels: " << core
        << (set && *set ? std::string(" (") + kBlasCoreVariable + "=" + set + ")" : std::string(" (OpenBLAS's choice)"))
        << "\n";
  }
  out << "OpenMP threads wait: " << openmp_waiting() << "\n";
  char line[256];
  for (const GemmProbe& p : probes) {
    std::snprintf(line, sizeof line,
                  "GEMM probe: %lld x %lld float32, %lld thread%s: %.1f GFLOP/s (error %.1e, bound %.1e)\n",
                  static_cast<long long>(p.size), static_cast<long long>(p.size), static_cast<long long>(p.threads),
                  p.threads == 1 ? "" : "s", p.gflops, p.max_relative_error, p.error_bound);
    out << line;
  }
  return out.str();
}

}  // namespace ltrnn
