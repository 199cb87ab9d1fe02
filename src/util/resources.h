// Files compiled into the binary (experiments/schema.json, models/*.json), so ltrnn
// works from any directory. Keys are paths relative to the repository root.
#pragma once
#include <map>
#include <string>

namespace ltrnn {

const std::map<std::string, std::string>& embedded_resources();
// The text of one resource; throws std::logic_error when it was not embedded.
const std::string& embedded_resource(const std::string& path);

}  // namespace ltrnn
