// `ltrnn analyze cp`: CP decompositions of a 3-tensor at several ranks.
#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis/cp.h"
#include "analysis/cp_files.h"
#include "analysis/ranks.h"
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

// A finite float array `key` of `dimensions` dimensions from an .npz's arrays (InputError
// naming the file and key otherwise).
torch::Tensor load_array(const fs::path& path, const std::map<std::string, NpyArray>& arrays, const std::string& key,
                         std::size_t dimensions, const std::string& expected) {
  const auto it = arrays.find(key);
  if (it == arrays.end())
    throw InputError(path.string() + ": no key '" + key + "' (" + expected + "; written by ltrnn simulate reach)");
  if (it->second.shape.size() != dimensions || !it->second.is_float())
    throw InputError(path.string() + ", key '" + key + "': expected a " + std::to_string(dimensions) +
                     "-D float array, " + expected);
  const torch::Tensor t = from_npy(it->second).to(torch::kFloat64);
  if (!torch::isfinite(t).all().item<bool>()) throw InputError(path.string() + ", key '" + key + "': NaN or Inf");
  return t;
}

}  // namespace

int analyze_ranks_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn analyze ranks",
                           "The matrix rank of W(k) and of dW(k) = W(k) - W(first) on every trial, and the\n"
                           "principal angles between their column and row spaces and span(B, C^T) of the\n"
                           "input weights B and readout C: the bound of a linear RNN trained by gradient\n"
                           "descent from W = 0 (rank <= d_in + d_out, spaces inside the span), checked.");
  options.add_options()("weights", ".npz with weights [K, N, N], input_weights [N, d_in], readout_weights [d_out, N]",
                        cxxopts::value<std::string>())(
      "tolerance", "a singular value counts when above this fraction of the largest",
      cxxopts::value<double>()->default_value("1e-8"))("out", "JSON results",
                                                       cxxopts::value<std::string>()->default_value("ranks.json"));
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path path = required_string(r, "weights");
  const double tolerance = r["tolerance"].as<double>();
  if (!(tolerance > 0 && tolerance < 1)) throw InputError("--tolerance: expected a number in (0, 1)");
  if (path.extension() != ".npz") throw InputError(path.string() + ": expected an .npz archive");
  const auto arrays = read_npz(path);
  const torch::Tensor W = load_array(path, arrays, "weights", 3, "[K, N, N]");
  const int64_t N = W.size(1);
  if (W.size(2) != N || W.size(0) < 1)
    throw InputError(path.string() + ", key 'weights': expected [K, N, N] with K >= 1 trials");
  const torch::Tensor B = load_array(path, arrays, "input_weights", 2, "[N, d_in]");
  const torch::Tensor C = load_array(path, arrays, "readout_weights", 2, "[d_out, N]");
  if (B.size(0) != N)
    throw InputError(path.string() + ", key 'input_weights': expected " + std::to_string(N) + " rows");
  if (C.size(1) != N)
    throw InputError(path.string() + ", key 'readout_weights': expected " + std::to_string(N) + " columns");
  const RankAnalysis analysis = analyze_ranks(W, B, C, tolerance);
  json result = rank_analysis_json(analysis);
  result["file"] = path.string();
  result["input_dimension"] = B.size(1);
  result["output_dimension"] = C.size(0);
  const fs::path out = r["out"].as<std::string>();
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_file_atomic(out, result.dump(2) + "\n");
  std::cout << format_rank_table(analysis) << "wrote " << out.string() << "\n";
  return kExitOk;
}

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
