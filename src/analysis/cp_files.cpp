// `ltrnn analyze cp`'s input and outputs: the tensor from a file, JSON, npz and the table.
#include "analysis/cp_files.h"

#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/dataset.h"
#include "util/errors.h"

namespace ltrnn {

torch::Tensor load_tensor(const std::filesystem::path& path, const std::string& key) {
  const std::string ext = path.extension().string();
  NpyArray array;
  std::string where = path.string();
  if (ext == ".npz") {
    if (key.empty()) throw InputError(where + ": an .npz needs --key (the array to analyse)");
    const auto arrays = read_npz(path);
    const auto it = arrays.find(key);
    if (it == arrays.end()) throw InputError(where + ": no key '" + key + "'");
    array = it->second;
    where += ", key '" + key + "'";
  } else if (ext == ".npy") {
    array = read_npy(path);
  } else {
    throw InputError(where + ": expected a .npy file or an .npz archive");
  }
  if (!array.is_float() && !array.is_integer()) throw InputError(where + ": expected a numeric array");
  if (array.shape.size() != 3)
    throw InputError(where + ": expected a 3-tensor, got " + std::to_string(array.shape.size()) + " dimensions");
  const torch::Tensor t = from_npy(array).to(torch::kFloat64);
  if (!torch::isfinite(t).all().item<bool>()) throw InputError(where + ": contains NaN or Inf");
  return t;
}

nlohmann::json cp_analysis_json(const CpAnalysis& a) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& m : a.models) {
    const torch::Tensor w = m.weights.contiguous();
    models.push_back({{"rank", m.rank()},
                      {"relative_error", m.relative_error},
                      {"iterations", m.iterations},
                      {"weights", std::vector<double>(w.data_ptr<double>(), w.data_ptr<double>() + w.numel())}});
  }
  nlohmann::json unfoldings = nlohmann::json::array();
  for (std::size_t mode = 0; mode < a.singular_values.size(); ++mode) {
    const torch::Tensor s = a.singular_values[mode].contiguous();
    unfoldings.push_back(
        {{"mode", mode},
         {"rank_99", rank_holding(s, 0.99)},
         {"rank_999", rank_holding(s, 0.999)},
         {"singular_values", std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel())}});
  }
  return {{"shape", a.shape}, {"models", models}, {"unfoldings", unfoldings}};
}

NpzContents cp_factor_arrays(const CpAnalysis& a) {
  NpzContents arrays;
  for (const auto& m : a.models) {
    const std::string prefix = "rank" + std::to_string(m.rank()) + "_";
    arrays.emplace_back(prefix + "weights", to_npy(m.weights));
    for (std::size_t f = 0; f < m.factors.size(); ++f)
      arrays.emplace_back(prefix + "factor" + std::to_string(f), to_npy(m.factors[f].contiguous()));
  }
  return arrays;
}

std::string format_cp_table(const CpAnalysis& a) {
  std::ostringstream out;
  char line[160];
  out << "rank  relative error  sweeps\n";
  for (const auto& m : a.models) {
    std::snprintf(line, sizeof line, "%4lld  %14.4e  %6lld\n", static_cast<long long>(m.rank()), m.relative_error,
                  static_cast<long long>(m.iterations));
    out << line;
  }
  out << "matrix rank of the unfoldings (singular values holding 99% / 99.9% of the squared norm):\n";
  for (std::size_t mode = 0; mode < a.singular_values.size(); ++mode) {
    std::snprintf(line, sizeof line, "  mode %zu (size %lld): %lld / %lld\n", mode,
                  static_cast<long long>(a.shape[mode]),
                  static_cast<long long>(rank_holding(a.singular_values[mode], 0.99)),
                  static_cast<long long>(rank_holding(a.singular_values[mode], 0.999)));
    out << line;
  }
  return out.str();
}

}  // namespace ltrnn
