// The experiment file's JSON Schema (experiments/schema.json, compiled into the binary).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ltrnn {

// The schema document itself.
const nlohmann::json& experiment_schema_document();
// Errors of `document` against the schema, as "<pointer>: <message>", each once.
std::vector<std::string> schema_errors(const nlohmann::json& document);

}  // namespace ltrnn
