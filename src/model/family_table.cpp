// The family table: one entry per row of model/family_list.h.
#include <algorithm>
#include <stdexcept>

#include "model/family.h"
#include "util/json_fields.h"
#include "util/resources.h"

namespace ltrnn {

#define LTRNN_DECLARE_FAMILY(value, name) FamilyTraits name##_family();
LTRNN_MODEL_FAMILIES(LTRNN_DECLARE_FAMILY)
#undef LTRNN_DECLARE_FAMILY

namespace {
FamilyTraits with_identity(FamilyTraits traits, ModelKind kind, const char* name) {
  traits.kind = kind;
  traits.name = name;
  return traits;
}
}  // namespace

const std::vector<FamilyTraits>& family_table() {
  static const std::vector<FamilyTraits> table{
#define LTRNN_FAMILY_ROW(value, name) with_identity(name##_family(), ModelKind::value, #name),
      LTRNN_MODEL_FAMILIES(LTRNN_FAMILY_ROW)
#undef LTRNN_FAMILY_ROW
  };
  return table;
}

const FamilyTraits& family_traits(ModelKind kind) {
  for (const FamilyTraits& traits : family_table())
    if (traits.kind == kind) return traits;
  throw std::logic_error("family_traits: a model kind without a row in model/family_list.h");
}

bool has_rank(ModelKind kind) { return family_traits(kind).has_rank; }

int64_t input_rank_of(const ModelConfig& config) {
  if (family_traits(config.kind).inputs_in_column_space) return config.rank;
  return config.input_rank > 0 ? config.input_rank : config.rank;
}

ModelConfig model_preset(ModelKind kind) {
  ModelConfig config;
  const std::string path = "models/" + family_traits(kind).name + ".json";
  overlay_fields(config, nlohmann::json::parse(embedded_resource(path)).at("defaults"), path + "#/defaults");
  config.kind = kind;
  return config;
}

void clamp_unused_rank(ModelConfig& config) {
  if (!has_rank(config.kind)) config.rank = std::min(config.rank, config.hidden);
}

std::shared_ptr<RecurrentWeightsImpl> make_recurrent_weights(const ModelConfig& config,
                                                             const TrialStructure& structure) {
  return family_traits(config.kind).make_weights(config, structure);
}

}  // namespace ltrnn
