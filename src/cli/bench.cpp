// `ltrnn bench`: milliseconds per training iteration on the benchmark cases.
#include "bench/bench.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "util/blas.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

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
    }
    std::cout << json(run_bench_case(c)).dump() << std::endl;
    return kExitOk;
  }
  const int64_t threads = r["threads"].as<int64_t>(), iterations = r["iterations"].as<int64_t>(),
                warmup = r["warmup"].as<int64_t>();
  if (threads < 1) throw InputError("--threads: must be >= 1");
  if (iterations < 1) throw InputError("--iterations: must be >= 1");
  if (warmup < 0) throw InputError("--warmup: must be >= 0");
  std::vector<BenchCase> cases = standard_cases(r.count("scaling") > 0, threads);
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
  const fs::path out = r["out"].as<std::string>();
  std::cout << "BLAS: " << blas_description() << "\n";
  std::vector<BenchResult> results;
  for (auto c : cases) {
    c.iterations = iterations;
    c.warmup = warmup;
    std::cerr << "bench: " << c.name << " (" << warmup << " + " << iterations << " iterations)..." << std::endl;
    results.push_back(run_bench_case_in_child(c, fs::canonical("/proc/self/exe").string()));
  }
  std::cout << format_bench_table(results);
  write_file_atomic(out, json{{"blas", blas_description()}, {"results", results}}.dump(2) + "\n");
  std::cout << "wrote " << out.string() << "\n";
  return kExitOk;
}

}  // namespace ltrnn
