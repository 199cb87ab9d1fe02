// The family table: one entry per row of model/family_list.h.
#include <algorithm>
#include <memory>
#include <stdexcept>

#include "model/family.h"
#include "util/json_fields.h"
#include "util/resources.h"

namespace ltrnn {

#define LTRNN_DECLARE_FAMILY(value, name) std::unique_ptr<FamilyTraits> name##_family();
LTRNN_MODEL_FAMILIES(LTRNN_DECLARE_FAMILY)
#undef LTRNN_DECLARE_FAMILY

namespace {
std::unique_ptr<FamilyTraits> with_identity(std::unique_ptr<FamilyTraits> family, ModelKind kind, const char* name) {
  family->kind = kind;
  family->name = name;
  return family;
}

const std::vector<std::unique_ptr<FamilyTraits>>& families() {
  static const std::vector<std::unique_ptr<FamilyTraits>> owned = [] {
    std::vector<std::unique_ptr<FamilyTraits>> rows;
#define LTRNN_FAMILY_ROW(value, name) rows.push_back(with_identity(name##_family(), ModelKind::value, #name));
    LTRNN_MODEL_FAMILIES(LTRNN_FAMILY_ROW)
#undef LTRNN_FAMILY_ROW
    return rows;
  }();
  return owned;
}
}  // namespace

const std::vector<const FamilyTraits*>& family_table() {
  static const std::vector<const FamilyTraits*> table = [] {
    std::vector<const FamilyTraits*> rows;
    for (const auto& family : families()) rows.push_back(family.get());
    return rows;
  }();
  return table;
}

const FamilyTraits& family_traits(ModelKind kind) {
  for (const FamilyTraits* traits : family_table())
    if (traits->kind == kind) return *traits;
  throw std::logic_error("family_traits: a model kind without a row in model/family_list.h");
}

bool has_rank(ModelKind kind) { return family_traits(kind).has_rank(); }
bool has_components(ModelKind kind) { return family_traits(kind).has_components(); }

ModelKind reference_family() { return kReferenceFamily; }

ModelKind family_with_view(ConnectivityView view) {
  for (const FamilyTraits* traits : family_table())
    if (traits->connectivity_view() == view) return traits->kind;
  throw std::logic_error("no family of model/family_list.h has the connectivity view asked for");
}

int64_t input_rank_of(const ModelConfig& config) {
  if (family_traits(config.kind).inputs_in_column_space()) return config.rank;
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
