// Files and text around the CP analysis (analysis/cp.h), kept apart from the algorithm.
#pragma once
#include <torch/types.h>

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "analysis/cp.h"
#include "io/npy.h"

namespace ltrnn {

// A 3-tensor from a .npy file, or from key `key` of an .npz (InputError naming both).
torch::Tensor load_tensor(const std::filesystem::path& path, const std::string& key);

// Errors, weights and unfolding ranks as JSON; factors as npz arrays
// rank<R>_weights [R], rank<R>_factor<m> [I_m, R]; the table printed by the command.
nlohmann::json cp_analysis_json(const CpAnalysis& analysis);
NpzContents cp_factor_arrays(const CpAnalysis& analysis);
std::string format_cp_table(const CpAnalysis& analysis);

}  // namespace ltrnn
