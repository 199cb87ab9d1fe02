// A model family is one file plus one row (docs/design.md section 2). This test fails when
// a family of model/family_list.h is missing from any place that must know it: its traits,
// its preset, the experiment schema, the benchmark cases; and when the hand-kept schema
// drifts from the field lists of the config structs.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "bench/bench.h"
#include "data/masks.h"
#include "data/preprocess.h"
#include "experiment/experiment.h"
#include "experiment/schema.h"
#include "model/family.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "train/config.h"
#include "util/json_fields.h"
#include "util/resources.h"

namespace ltrnn {
namespace {
using nlohmann::json;

std::set<std::string> as_set(const std::vector<std::string>& keys) { return {keys.begin(), keys.end()}; }

std::set<std::string> schema_properties(const std::string& pointer) {
  const json& schema = experiment_schema_document();
  json node = schema.at(json::json_pointer(pointer));
  if (node.contains("$ref")) node = schema.at(json::json_pointer(node["$ref"].get<std::string>().substr(1)));
  std::set<std::string> keys;
  for (const auto& item : node.at("properties").items()) keys.insert(item.key());
  return keys;
}

TEST(FamilyChecklist, EveryFamilyIsKnownEverywhere) {
  const json& schema = experiment_schema_document();
  const json schema_families = schema.at(json::json_pointer("/properties/runs/items/properties/model/enum"));
  const std::vector<BenchCase> bench_cases = standard_cases(/*scaling=*/false, /*threads=*/2);
  ASSERT_EQ(family_table().size(), EnumNames<ModelKind>::table().size());
  EXPECT_EQ(schema_families.size(), family_table().size()) << "the schema's model enum lists another set of families";
  for (const auto& [kind, name] : EnumNames<ModelKind>::table()) {
    SCOPED_TRACE(name);
    const FamilyTraits& traits = family_traits(kind);
    EXPECT_EQ(traits.name, name);
    // Every method is pure virtual, so a family that lacks one does not compile; these check
    // that the answers make sense.
    EXPECT_FALSE(traits.weights_formula().empty());
    EXPECT_NE(traits.torchscript_methods().find("def select("), std::string::npos);
    EXPECT_NE(traits.torchscript_methods().find("def recurrent("), std::string::npos);
    EXPECT_NE(traits.torchscript_methods().find("def weights("), std::string::npos);
    EXPECT_GT(traits.recurrent_flop(10, 8, 2), 0);
    EXPECT_GE(traits.saved_per_evaluation(10, 8, 2), 0);  // the plan's memory estimate
    EXPECT_GT(traits.weight_parameters(10, 8, 2), 0);
    EXPECT_GE(traits.weight_intermediates(10, 8, 2), 0);
    EXPECT_NO_THROW(json::parse(embedded_resource("models/" + name + ".json")));
    EXPECT_EQ(model_preset(kind).kind, kind);
    EXPECT_NE(std::find(schema_families.begin(), schema_families.end(), name), schema_families.end())
        << "experiments/schema.json /properties/runs/items/properties/model/enum lacks " << name;
    // [kind = kind]: C++17 lambdas cannot capture a structured binding (clang refuses; gcc allows).
    EXPECT_TRUE(std::any_of(bench_cases.begin(), bench_cases.end(),
                            [kind = kind](const BenchCase& c) { return c.kind == kind; }))
        << "ltrnn bench has no case for " << name;
  }
}

TEST(FamilyChecklist, SchemaListsTheFieldsOfTheConfigStructs) {
  std::set<std::string> generator = as_set(field_keys<TeacherConfig>());
  for (const std::string& key : field_keys<ReachConfig>()) generator.insert(key);
  EXPECT_EQ(schema_properties("/properties/dataset/properties/parameters"), generator);
  EXPECT_EQ(schema_properties("/properties/preprocess"), as_set(field_keys<PreprocessConfig>()));
  EXPECT_EQ(schema_properties("/properties/mask"), as_set(field_keys<MaskConfig>()));
  EXPECT_EQ(schema_properties("/properties/outputs"), as_set(field_keys<OutputsConfig>()));
  // Training: the seed comes from "seeds" and the threads from the command line.
  std::set<std::string> train = as_set(field_keys<TrainConfig>());
  train.erase("seed");
  train.erase("threads");
  EXPECT_EQ(schema_properties("/properties/train"), train);
  EXPECT_EQ(schema_properties("/properties/runs/items/properties/train"), train);
  // Overrides: every model field but the family, its ranks and hidden sizes (own keys).
  std::set<std::string> model = as_set(field_keys<ModelConfig>());
  for (const char* own : {"kind", "rank", "hidden"}) model.erase(own);
  EXPECT_EQ(schema_properties("/properties/runs/items/properties/overrides"), model);
}

}  // namespace
}  // namespace ltrnn
