// experiments/schema.json checked by valijson, its errors rewritten as "<pointer>: <what>".
#include "experiment/schema.h"

#include <algorithm>
#include <memory>
#include <sstream>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "util/resources.h"

namespace ltrnn {
using nlohmann::json;

const json& experiment_schema_document() {
  static const json document = json::parse(embedded_resource("experiments/schema.json"));
  return document;
}

namespace {

// valijson reports a path as ["<root>", "[runs]", "[1]", "[rank]"]; make it "/runs/1/rank".
// Keys are escaped as JSON pointers escape them ("~" as "~0", "/" as "~1"): a key of the
// user's (in trials_where, say) may hold either, and the pointer is parsed again below.
std::string pointer_of(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
    pointer += "/";
    for (char c : token) pointer += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return pointer.empty() ? "/" : pointer;
}

const valijson::Schema& experiment_schema() {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(experiment_schema_document());
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

// The schema node that describes `pointer`, following properties, items and local
// "$ref"s ("#/definitions/..."); or null.
const json* schema_node(const json& schema, const std::string& pointer) {
  const auto resolve = [&](const json* node) {
    while (node && node->contains("$ref")) {
      const std::string ref = (*node)["$ref"].get<std::string>();
      if (ref.rfind("#/", 0) != 0) return static_cast<const json*>(nullptr);
      const json::json_pointer target(ref.substr(1));
      node = schema.contains(target) ? &schema.at(target) : nullptr;
    }
    return node;
  };
  const json* node = resolve(&schema);
  std::stringstream tokens(pointer);
  std::string token;
  while (node && std::getline(tokens, token, '/')) {
    if (token.empty()) continue;
    if (node->contains("properties") && (*node)["properties"].contains(token))
      node = &(*node)["properties"][token];
    else if (node->contains("items"))
      node = &(*node)["items"];
    else
      return nullptr;
    node = resolve(node);
  }
  return node;
}

std::string type_name(const json& value) {
  return value.is_number_integer() ? "integer" : value.is_number() ? "number" : value.type_name();
}

std::string join(const json& values, const std::string& separator) {
  std::string out;
  for (const auto& v : values)
    out += (out.empty() ? "" : separator) + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// Rewrites one valijson error as "<pointer>: <what is expected>"; empty for the generic
// "failed to validate the parent" messages that valijson adds at every level.
std::string readable_error(const std::string& pointer, const std::string& description, const json& document,
                           const json& schema) {
  for (const char* wrapper : {"Failed to validate against schema associated", "Failed to validate item #",
                              "Failed to validate against child schema", "Failed to validate against any child"})
    if (description.rfind(wrapper, 0) == 0) return "";
  const json* node = schema_node(schema, pointer);
  const json::json_pointer where(pointer == "/" ? "" : pointer);
  const json* value = document.contains(where) ? &document.at(where) : nullptr;
  const auto quoted_name = [&] {
    const auto end = description.rfind('\'');
    const auto begin = description.rfind('\'', end - 1);
    return description.substr(begin + 1, end - begin - 1);
  };
  const std::string base = pointer == "/" ? "" : pointer;
  if (description.rfind("Object contains a property that could not be validated", 0) == 0)
    return base + "/" + quoted_name() + ": unknown key";
  if (description.rfind("Missing required property", 0) == 0) return base + "/" + quoted_name() + ": required";
  if (description.rfind("Value type not permitted", 0) == 0 && node && node->contains("type"))
    return pointer + ": must be " +
           ((*node)["type"].is_array() ? join((*node)["type"], " or ") : (*node)["type"].get<std::string>()) +
           (value ? ", got " + type_name(*value) : "");
  if (description.rfind("Failed to match against any enum values", 0) == 0 && node && node->contains("enum"))
    return pointer + ": must be one of " + join((*node)["enum"], ", ") + (value ? ", got " + value->dump() : "");
  if (description.rfind("Failed to match regex", 0) == 0 && node && node->contains("pattern"))
    return pointer + ": must match the pattern " + (*node)["pattern"].get<std::string>() +
           (value ? ", got " + value->dump() : "");
  static const std::vector<std::pair<std::string, std::string>> bounds{
      {"Expected number greater than or equal to ", ">= "},
      {"Expected number greater than ", "> "},
      {"Expected number less than or equal to ", "<= "},
      {"Expected number less than ", "< "}};
  for (const auto& [prefix, op] : bounds)
    if (description.rfind(prefix, 0) == 0) {
      std::ostringstream bound;
      bound << std::stod(description.substr(prefix.size()));
      return pointer + ": must be " + op + bound.str() + (value ? ", got " + value->dump() : "");
    }
  return pointer + ": " + description;
}

// Arrays whose schema says uniqueItems, checked before the validator: it reports every
// pair of equal items, n^2 errors for n copies (minutes for a few kilobytes of input).
// Each such array is reported once, at its first repeated item, and deduplicated in the
// copy the validator sees. Returns that copy.
json without_repeated_items(const json& document, const json& schema, const std::string& pointer,
                            std::vector<std::string>& errors) {
  if (document.is_object()) {
    json copy = json::object();
    for (const auto& item : document.items())
      copy[item.key()] = without_repeated_items(item.value(), schema, pointer + "/" + item.key(), errors);
    return copy;
  }
  if (!document.is_array()) return document;
  const json* node = schema_node(schema, pointer.empty() ? "/" : pointer);
  const bool unique = node && node->value("uniqueItems", false);
  json copy = json::array();
  for (std::size_t i = 0; i < document.size(); ++i) {
    const auto first = unique ? std::find(copy.begin(), copy.end(), document[i]) : copy.end();
    if (first != copy.end()) {
      if (copy.size() == i)  // the array's first repeat
        errors.push_back(pointer + "/" + std::to_string(i) + ": repeats " + pointer + "/" +
                         std::to_string(first - copy.begin()) + " (" + document[i].dump() +
                         "); each value may appear once");
      continue;
    }
    copy.push_back(without_repeated_items(document[i], schema, pointer + "/" + std::to_string(i), errors));
  }
  return copy;
}

// Experiment files nest a few levels deep. The passes below (copying, validating, printing
// a value) recurse once per level and overflowed the stack on a document nested some ten
// thousand levels deep, so deeper documents are refused first, by a check that does not
// recurse.
constexpr std::size_t kMaxDepth = 100;

bool nested_too_deep(const json& document) {
  std::vector<std::pair<const json*, std::size_t>> pending{{&document, 1}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (depth > kMaxDepth) return true;
    if (value->is_structured())
      for (const json& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

}  // namespace

std::vector<std::string> schema_errors(const json& input) {
  if (nested_too_deep(input))
    return {"/: nested more than " + std::to_string(kMaxDepth) + " levels deep (an experiment file has a few)"};
  const json& schema = experiment_schema_document();
  std::vector<std::string> errors;
  const json document = without_repeated_items(input, schema, "", errors);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  validator.validate(experiment_schema(), adapter, &results);
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    const std::string line = readable_error(pointer_of(error.context), error.description, document, schema);
    if (!line.empty() && std::find(errors.begin(), errors.end(), line) == errors.end()) errors.push_back(line);
  }
  return errors;
}

}  // namespace ltrnn
