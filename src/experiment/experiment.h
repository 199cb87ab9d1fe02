// Experiment files (docs/design.md section 7): JSON -> validated Experiment.
// Every error names the JSON pointer of the bad field.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "spec/experiment.h"

namespace ltrnn {

// The schema-checked, defaults-filled experiment, or every error found.
// Throws InputError listing each error as "<pointer>: <message>" on its own line.
Experiment load_experiment(const std::filesystem::path& path);
Experiment parse_experiment(const nlohmann::json& document, const std::filesystem::path& source);

// Ranks written "FROM-TO" or "a,b,c"; InputError naming `where` when malformed.
std::vector<int64_t> parse_rank_text(const std::string& text, const std::string& where);

}  // namespace ltrnn
