// `ltrnn analyze cp`: CP decompositions of a 3-tensor at several ranks.
#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "analysis/cp.h"
#include "analysis/cp_files.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "experiment/experiment.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "1-8" or "1,2,4": a list of ranks >= 1.
std::vector<int64_t> parse_rank_list(const std::string& text, const std::string& option) {
  const std::vector<int64_t> ranks = parse_rank_text(text, option);
  if (ranks.empty() || *std::min_element(ranks.begin(), ranks.end()) < 1)
    throw InputError(option + ": expected ranks >= 1, got '" + text + "'");
  return ranks;
}

}  // namespace

int analyze_cp_command(int argc, const char* const* argv) {
  const CpOptions defaults;
  cxxopts::Options options("ltrnn analyze cp",
                           "CP decomposition (alternating least squares, best of several random starts) of a\n"
                           "3-tensor at each rank: relative error vs rank, the factors, and the matrix rank of\n"
                           "each unfolding. For weights over learning (K x N x N), --updates analyses\n"
                           "dW(k) = W(k) - W(first trial).");
  options.add_options()("tensor", ".npy file, or .npz archive with --key", cxxopts::value<std::string>())(
      "key", "array of the .npz to analyse (e.g. weights)", cxxopts::value<std::string>()->default_value(""))(
      "ranks", "ranks, FROM-TO or a list (1,2,4)", cxxopts::value<std::string>()->default_value("1-8"))(
      "updates", "analyse W(k) - W(first) along the first axis")(
      "starts", "random starts per rank", cxxopts::value<int64_t>()->default_value(std::to_string(defaults.starts)))(
      "iterations", "ALS sweeps per start",
      cxxopts::value<int64_t>()->default_value(std::to_string(defaults.max_iterations)))(
      "tolerance", "stop when the relative error changes by less", cxxopts::value<double>()->default_value("1e-8"))(
      "seed", "random seed of the starts", cxxopts::value<int64_t>()->default_value("0"))(
      "out", "JSON results (factors go to the same name with .npz)",
      cxxopts::value<std::string>()->default_value("cp.json"));
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path tensor_path = required_string(r, "tensor");
  CpOptions o;
  o.starts = r["starts"].as<int64_t>();
  o.max_iterations = r["iterations"].as<int64_t>();
  o.tolerance = r["tolerance"].as<double>();
  o.seed = static_cast<uint64_t>(r["seed"].as<int64_t>());
  if (o.starts < 1) throw InputError("--starts: must be >= 1");
  if (o.max_iterations < 1) throw InputError("--iterations: must be >= 1");
  const std::vector<int64_t> ranks = parse_rank_list(r["ranks"].as<std::string>(), "--ranks");
  torch::Tensor X = load_tensor(tensor_path, r["key"].as<std::string>());
  const bool updates = r.count("updates") > 0;
  if (updates) X = learning_updates(X);
  const CpAnalysis analysis = analyze_cp(X, ranks, o);
  const fs::path out = r["out"].as<std::string>();
  json result = cp_analysis_json(analysis);
  result["tensor"] = tensor_path.string();
  result["key"] = r["key"].as<std::string>();
  result["updates"] = updates;
  result["starts"] = o.starts;
  result["seed"] = o.seed;
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_npz(fs::path(out).replace_extension(".npz"), cp_factor_arrays(analysis));
  write_file_atomic(out, result.dump(2) + "\n");
  std::cout << format_cp_table(analysis) << "wrote " << out.string() << " and "
            << fs::path(out).replace_extension(".npz").string() << "\n";
  return kExitOk;
}

}  // namespace ltrnn
