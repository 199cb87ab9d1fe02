// experiments/schema.json against the field lists of the config structs (docs/design.md
// section 7): every field is a property of its schema section and every property a field,
// with the same type, the same default, and the same accepted values. The schema checks an
// experiment file before anything reads it; validate() checks the structs that the command
// line and the presets fill too. A bound that only one of them knows lets a value through
// one door and not the other, so both are asked about the same probe values.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "data/masks.h"
#include "data/preprocess.h"
#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "model/config.h"
#include "model/family.h"
#include "train/config.h"
#include "util/fields.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace {
using nlohmann::json;

// One field of a field list: its name, its JSON type, the names an enum accepts, and the
// struct's default as JSON.
struct FieldInfo {
  std::string help;                // the field list's text (command-line help)
  std::string type;                // "integer", "number", "boolean", "string", "enum", "array"
  std::vector<std::string> names;  // of an enum
  json default_value;
};

class FieldCollector {
 public:
  template <typename T>
  void field(const char* key, const T& value, const char* help = nullptr) {
    FieldInfo info;
    info.help = help ? help : "";
    if constexpr (std::is_enum_v<T>) {
      info.type = "enum";
      for (const auto& [v, name] : EnumNames<T>::table()) info.names.push_back(name);
      info.default_value = enum_name(value);
    } else {
      if constexpr (std::is_same_v<T, bool>)
        info.type = "boolean";
      else if constexpr (std::is_integral_v<T>)
        info.type = "integer";
      else if constexpr (std::is_floating_point_v<T>)
        info.type = "number";
      else if constexpr (std::is_same_v<T, std::string>)
        info.type = "string";
      else
        info.type = "array";
      info.default_value = value;
    }
    fields[key] = info;
  }
  std::map<std::string, FieldInfo> fields;
};

template <class Config>
std::map<std::string, FieldInfo> fields_of(const Config& defaults) {
  FieldCollector collector;
  Config::fields(defaults, collector);
  return collector.fields;
}

// A schema property's JSON type as a field list names it.
std::string schema_type(const json& property) {
  if (property.contains("enum")) return "enum";
  const json& type = property.at("type");
  return type.is_string() ? type.get<std::string>() : "union";
}

// A section of the schema whose properties are one struct's fields.
struct Section {
  std::string name;
  const json* properties;                                          // the schema's properties of the section
  std::map<std::string, FieldInfo> fields;                         // the struct's field list
  std::set<std::string> not_in_schema;                             // fields set elsewhere in an experiment file
  bool defaults_from_struct = true;                                // false: from the family's preset
  std::function<json(const std::string&, const json&)> document;   // an experiment with the field set
  std::function<bool(const std::string&, const json&)> validates;  // the struct's overlay + validate
};

json minimal_experiment() {
  return json{
      {"name", "probe"}, {"dataset", {{"generator", "teacher"}}}, {"runs", json::array({{{"model", "tensor_rank"}}})}};
}

template <class Config>
std::function<bool(const std::string&, const json&)> validator(const Config& start) {
  return [start](const std::string& key, const json& value) {
    Config c = start;
    try {
      overlay_fields(c, json{{key, value}}, "/probe");
      validate(c, "/probe");
      return true;
    } catch (const InputError&) {
      return false;
    }
  };
}

std::function<json(const std::string&, const json&)> in_section(const std::string& section) {
  return [section](const std::string& key, const json& value) {
    json document = minimal_experiment();
    document[section][key] = value;
    return document;
  };
}

std::vector<Section> sections() {
  const json& schema = experiment_schema_document();
  std::vector<Section> all;
  all.push_back({"train",
                 &schema.at("definitions").at("train").at("properties"),
                 fields_of(TrainConfig{}),
                 // the seed of each run is the experiment's "seeds"; threads and device are
                 // the command line's (ltrnn run --threads, --device) as well as the file's
                 {"seed", "threads"},
                 true,
                 in_section("train"),
                 validator(TrainConfig{})});
  all.push_back({"preprocess",
                 &schema.at("properties").at("preprocess").at("properties"),
                 fields_of(PreprocessConfig{}),
                 {},
                 true,
                 in_section("preprocess"),
                 validator(PreprocessConfig{})});
  all.push_back({"mask",
                 &schema.at("properties").at("mask").at("properties"),
                 fields_of(MaskConfig{}),
                 {},
                 true,
                 in_section("mask"),
                 validator(MaskConfig{})});
  all.push_back({"outputs",
                 &schema.at("properties").at("outputs").at("properties"),
                 fields_of(OutputsConfig{}),
                 {},
                 true,
                 in_section("outputs"),
                 [](const std::string&, const json& value) { return value.is_boolean(); }});
  // A large hidden size: input_rank <= hidden is a rule between keys of a run entry, checked
  // where the experiment file is parsed, not by the schema's per-field bounds.
  ModelConfig preset = model_preset(ModelKind::TensorRank);
  preset.hidden = 10000000;
  all.push_back({"runs/overrides",
                 &schema.at("properties").at("runs").at("items").at("properties").at("overrides").at("properties"),
                 fields_of(model_preset(ModelKind::TensorRank)),
                 // the family, its rank and hidden size are keys of the run entry itself
                 {"kind", "rank", "hidden"},
                 false,
                 [](const std::string& key, const json& value) {
                   json document = minimal_experiment();
                   document["runs"][0]["overrides"][key] = value;
                   return document;
                 },
                 validator(preset)});
  return all;
}

TEST(SchemaFields, EveryFieldIsAPropertyAndEveryPropertyAField) {
  for (const Section& section : sections()) {
    for (const auto& [name, info] : section.fields)
      if (!section.not_in_schema.count(name))
        EXPECT_TRUE(section.properties->contains(name))
            << section.name << "/" << name << " is a field but not a property of the schema";
    for (const auto& [name, property] : section.properties->items())
      EXPECT_TRUE(section.fields.count(name)) << section.name << "/" << name << " is in the schema but no field";
  }
}

TEST(SchemaFields, TypesAndEnumNamesAgree) {
  for (const Section& section : sections())
    for (const auto& [name, property] : section.properties->items()) {
      const auto field = section.fields.find(name);
      if (field == section.fields.end()) continue;
      EXPECT_EQ(schema_type(property), field->second.type) << section.name << "/" << name;
      if (field->second.type == "enum")
        EXPECT_EQ(property.at("enum").get<std::vector<std::string>>(), field->second.names)
            << section.name << "/" << name;
    }
}

// The schema's "default" is the struct's; a family's overrides default to its preset, so
// they state none.
TEST(SchemaFields, DefaultsAgree) {
  for (const Section& section : sections())
    for (const auto& [name, property] : section.properties->items()) {
      const auto field = section.fields.find(name);
      if (field == section.fields.end()) continue;
      if (!section.defaults_from_struct) {
        EXPECT_FALSE(property.contains("default")) << section.name << "/" << name << ": the preset's default applies";
        continue;
      }
      if (!property.contains("default")) {
        ADD_FAILURE() << section.name << "/" << name << ": no \"default\"; the struct's is "
                      << field->second.default_value;
        continue;
      }
      const json& stated = property.at("default");
      const json& actual = field->second.default_value;
      if (stated.is_number() && actual.is_number())
        EXPECT_DOUBLE_EQ(stated.get<double>(), actual.get<double>()) << section.name << "/" << name;
      else
        EXPECT_EQ(stated, actual) << section.name << "/" << name;
    }
}

// One text per option: the schema's description starts with the field list's help text (the
// command line's), and may go on with more (its default, an example).
TEST(SchemaFields, DescriptionsStartWithTheFieldsHelp) {
  const auto lower = [](std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (const Section& section : sections())
    for (const auto& [name, property] : section.properties->items()) {
      const auto field = section.fields.find(name);
      if (field == section.fields.end()) continue;
      EXPECT_FALSE(field->second.help.empty()) << section.name << "/" << name << ": no help text in its field list";
      const std::string description = property.value("description", "");
      EXPECT_EQ(lower(description).rfind(lower(field->second.help), 0), 0u)
          << section.name << "/" << name << ":\n  schema: " << description << "\n  field:  " << field->second.help;
    }
}

// A description that names its default ("... (default 2000).") names the schema's.
TEST(SchemaFields, DescriptionsNameTheDefault) {
  const std::regex stated(R"(\(default ([-+0-9.eE]+|true|false)\))");
  for (const Section& section : sections())
    for (const auto& [name, property] : section.properties->items()) {
      if (!property.contains("default") || !property.contains("description")) continue;
      const std::string description = property.at("description").get<std::string>();
      std::smatch match;
      if (!std::regex_search(description, match, stated)) continue;
      const json text = json::parse(match[1].str());
      const json& value = property.at("default");
      if (value.is_number())
        EXPECT_DOUBLE_EQ(text.get<double>(), value.get<double>()) << section.name << "/" << name << ": " << description;
      else
        EXPECT_EQ(text, value) << section.name << "/" << name << ": " << description;
    }
}

// The values each door is asked about: the schema's bounds and a step either side of them,
// and a spread of ordinary values.
std::vector<json> probes(const json& property, const std::string& type) {
  if (type != "integer" && type != "number") return {};
  std::set<double> values{-1, 0, 0.25, 0.5, 0.75, 1, 2, 3, 10, 1e6};
  for (const char* bound : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"})
    if (property.contains(bound)) {
      const double b = property.at(bound).get<double>();
      const double step = type == "integer" ? 1.0 : 1e-9;
      values.insert({b - step, b, b + step});
    }
  std::vector<json> out;
  for (double v : values) {
    if (type == "integer") {
      if (v == std::floor(v)) out.push_back(static_cast<int64_t>(v));
    } else {
      out.push_back(v);
    }
  }
  return out;
}

TEST(SchemaFields, TheSchemaAndValidateAcceptTheSameValues) {
  for (const Section& section : sections())
    for (const auto& [name, property] : section.properties->items()) {
      const auto field = section.fields.find(name);
      if (field == section.fields.end()) continue;
      for (const json& value : probes(property, field->second.type)) {
        const bool schema_accepts = schema_errors(section.document(name, value)).empty();
        const bool struct_accepts = section.validates(name, value);
        EXPECT_EQ(schema_accepts, struct_accepts)
            << section.name << "/" << name << " = " << value.dump() << ": the schema "
            << (schema_accepts ? "accepts" : "refuses") << " it, validate() "
            << (struct_accepts ? "accepts" : "refuses") << " it";
      }
    }
}

}  // namespace
}  // namespace ltrnn
