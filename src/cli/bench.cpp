// `ltrnn bench`: milliseconds per training iteration on the benchmark cases.
#include "bench/bench.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "util/blas.h"
#include "util/files.h"
#include "util/machine.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The distinct thread counts of the cases (or `threads` when there are none), ascending.
std::vector<int64_t> probe_thread_counts(const std::vector<BenchCase>& cases, int64_t threads) {
  std::vector<int64_t> counts;
  for (const BenchCase& c : cases) counts.push_back(c.threads);
  if (counts.empty()) counts.push_back(threads);
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

}  // namespace

int bench_command(int argc, const char* const* argv) {
  cxxopts::Options options(
      "ltrnn bench",
      "Times training iterations (forward, loss, backward, Adam step) on the benchmark\n"
      "configurations of docs/design.md section 8, each case in its own process. Without --config:\n"
      "B1 for every model family, and B1 with one thread.");
  options.add_options()("config", "run only the case of this name (e.g. B1, 'B1 full')", cxxopts::value<std::string>())(
      "scaling", "also time B1 with K, N and R each doubled over a series")(
      "threads", "intra-op threads", cxxopts::value<int64_t>()->default_value("2"))(
      "iterations", "timed iterations per case (after the warm-up)", cxxopts::value<int64_t>()->default_value("20"))(
      "warmup", "untimed iterations before the timed ones", cxxopts::value<int64_t>()->default_value("3"))(
      "out", "JSON file for the results", cxxopts::value<std::string>()->default_value("bench.json"))(
      "probe", "only the GEMM probe: time a plain float32 product and check it against a reference")(
      "together",
      "also run each case in this many processes at once and report each one's slowdown against the case alone "
      "(how ltrnn fares on a shared machine; 0: off)",
      cxxopts::value<int64_t>()->default_value("0"))(
      "device",
      "cpu, or cuda: B1 of every family, the reference notebook's shape and a recording of today's size "
      "(T 100, K 1000, D 200, N 200, R 6) on the CUDA device, beside its GEMM and copy probes",
      cxxopts::value<std::string>()->default_value("cpu"))(
      "case", "run one case given as JSON in this process and print its result (used internally)",
      cxxopts::value<std::string>());
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  if (r.count("case")) {
    BenchCase c;
    try {
      c = json::parse(r["case"].as<std::string>()).get<BenchCase>();
    } catch (const json::exception& e) {
      throw InputError(std::string("--case: expected a benchmark case as JSON (") + e.what() + ")");
    } catch (const InputError& e) {  // a key of the wrong type or an unknown key
      throw InputError(std::string("--case: expected a benchmark case as JSON (") + e.what() + ")");
    }
    std::cout << json(run_bench_case(c)).dump() << std::endl;
    return kExitOk;
  }
  const int64_t threads = r["threads"].as<int64_t>(), iterations = r["iterations"].as<int64_t>(),
                warmup = r["warmup"].as<int64_t>();
  if (threads < 1) throw InputError("--threads: must be >= 1");
  if (iterations < 1) throw InputError("--iterations: must be >= 1");
  if (warmup < 0) throw InputError("--warmup: must be >= 0");
  const int64_t together = r["together"].as<int64_t>();
  if (together < 0 || together == 1 || together > 64) throw InputError("--together: 0 (off) or 2 to 64 processes");
  const DeviceKind device = parse_enum<DeviceKind>(r["device"].as<std::string>(), "--device");
  if (device == DeviceKind::Auto) throw InputError("--device: expected cpu or cuda");
  const bool on_cuda = device == DeviceKind::Cuda;
  if (on_cuda && r.count("scaling")) throw InputError("--scaling: the scaling series run on the CPU only");
  std::vector<BenchCase> cases = on_cuda ? device_cases() : standard_cases(r.count("scaling") > 0, threads);
  if (on_cuda)
    for (BenchCase& c : cases) c.threads = threads;
  if (r.count("config")) {
    const std::string name = r["config"].as<std::string>();
    std::vector<BenchCase> chosen;
    for (const auto& c : cases)
      if (c.name == name) chosen.push_back(c);
    if (chosen.empty()) {
      std::string names;
      for (const auto& c : cases) names += (names.empty() ? "" : ", ") + c.name;
      throw InputError("--config: unknown case '" + name + "'; expected one of: " + names);
    }
    cases = chosen;
  }
  // The GEMM probe at each thread count the cases use (or the GPU's probes), in this
  // process, before the cases.
  std::vector<GemmProbe> probes;
  std::optional<DeviceProbe> device_probe;
  if (r.count("probe")) cases.clear();
  if (on_cuda) {
    device_probe = run_device_probe();
    std::cout << format_bench_header({}) << format_device_header(*device_probe) << std::flush;
  } else {
    for (const int64_t t : probe_thread_counts(cases, threads)) probes.push_back(run_gemm_probe(t));
    std::cout << format_bench_header(probes) << std::flush;
  }
  if (r.count("probe")) return kExitOk;

  const fs::path out = r["out"].as<std::string>();
  std::vector<BenchResult> results, shared_results;
  std::string sharing;
  for (auto c : cases) {
    c.iterations = iterations;
    c.warmup = warmup;
    std::cerr << "bench: " << c.name << " (" << warmup << " + " << iterations << " iterations)..." << std::endl;
    BenchResult result = run_bench_case_in_child(c, fs::canonical("/proc/self/exe").string());
    for (const GemmProbe& p : probes)
      if (p.threads == c.threads && p.gflops > 0) result.probe_fraction = result.gflops / p.gflops;
    if (device_probe && device_probe->gflops > 0) result.probe_fraction = result.gflops / device_probe->gflops;
    results.push_back(result);
    if (together > 0) {
      std::cerr << "bench: " << c.name << " in " << together << " processes at once..." << std::endl;
      const std::vector<BenchResult> shared =
          run_bench_case_together(c, together, fs::canonical("/proc/self/exe").string());
      sharing += format_sharing(result, shared);
      for (BenchResult s : shared) {
        s.config.name += " (1 of " + std::to_string(together) + " at once)";
        shared_results.push_back(s);
      }
    }
  }
  results.insert(results.end(), shared_results.begin(), shared_results.end());
  std::cout << format_bench_table(results) << sharing;
  json document{{"cpu", cpu_model()},         {"cpu_features", describe(cpu_features())},
                {"blas", blas_description()}, {"blas_core", blas_core()},
                {"gemm_probes", probes},      {"results", results}};
  if (device_probe) document["device_probe"] = *device_probe;
  write_file_atomic(out, document.dump(2) + "\n");
  std::cout << "wrote " << out.string() << "\n";
  return kExitOk;
}

}  // namespace ltrnn
