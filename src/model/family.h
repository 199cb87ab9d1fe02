// What the rest of ltrnn knows of a model family: one FamilyTraits per row of
// model/family_list.h, defined in that family's file, src/model/families/<name>.cpp.
// Nothing outside model/families/ switches on the family: it asks its traits.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/recurrent_weights.h"

namespace ltrnn {

struct TrialStructure;

// How the report shows a family's connectivity over learning.
enum class ConnectivityView {
  TrialFactors,  // trial factors c [K, R] and loadings (factors.npz: trial_factors, column_ and row_factors)
  WeightChange,  // ||W(k) - W(first)|| / ||W(first)|| over trials
  Fixed,         // one W for every trial: nothing changes over learning
};

// A family's answers, one method each. Every method is pure: a family file that leaves one
// out does not compile (its row in model/family_list.h instantiates its class).
class FamilyTraits {
 public:
  virtual ~FamilyTraits() = default;
  ModelKind kind{};  // from the family's row
  std::string name;  // from the family's row; also models/<name>.json

  // W(k) in one line, with its parameter count.
  virtual std::string weights_formula() const = 0;
  // R is a hyperparameter of the family (else `rank` is unused).
  virtual bool has_rank() const = 0;
  // W(k) is a sum of R components that the rank ladder adds and removes one at a time
  // (RecurrentWeightsImpl::component_strengths; docs/design.md section 5).
  virtual bool has_components() const = 0;
  // Inputs and initial states live in the family's own column space (input_rank = rank);
  // otherwise in a free basis of input_rank directions.
  virtual bool inputs_in_column_space() const = 0;
  virtual std::shared_ptr<RecurrentWeightsImpl> make_weights(const ModelConfig& config,
                                                             const TrialStructure& structure) const = 0;
  // TorchScript methods `select(trials)`, `recurrent(rates, selected)` and `weights(trials)`
  // over the family's buffers (export/torchscript.cpp adds the shared dynamics).
  virtual std::string torchscript_methods() const = 0;
  // Buffer names of named_factors() entries where they differ (a buffer may not be called
  // like a method).
  virtual std::map<std::string, std::string> torchscript_buffer_names() const = 0;
  // Matrix-product FLOPs of one evaluation of the recurrent term for K trials.
  virtual double recurrent_flop(double K, double N, double R) const = 0;
  // Peak memory beyond what every family needs (train/memory.h), in numbers of the fit's
  // precision for K trials: what the family keeps per drift evaluation for the backward
  // pass, and its weight parameters. Calibrated against `ltrnn bench`'s peak MiB of B1.
  virtual double saved_per_evaluation(double K, double N, double R) const = 0;
  virtual double weight_parameters(double K, double N, double R) const = 0;
  // Numbers the family's weights take per iteration beyond those copies (per-trial values
  // built from the parameters, and their gradients).
  virtual double weight_intermediates(double K, double N, double R) const = 0;
  // How the report shows the family's connectivity over learning.
  virtual ConnectivityView connectivity_view() const = 0;
};

// Every family, in the order of model/family_list.h.
const std::vector<const FamilyTraits*>& family_table();
const FamilyTraits& family_traits(ModelKind kind);
bool has_rank(ModelKind kind);
bool has_components(ModelKind kind);
// The family the benchmarks and the paper's figures are stated for (docs/design.md
// section 8): the first row of model/family_list.h, the low-tensor-rank model.
ModelKind reference_family();
// The first family whose connectivity the report shows as `view`.
ModelKind family_with_view(ConnectivityView view);
// Number of input/initial-state directions: rank for families whose inputs live in their
// column space, else input_rank (or rank when input_rank is 0).
int64_t input_rank_of(const ModelConfig& config);
// The family's preset: ModelConfig's defaults overlaid with models/<name>.json's
// "defaults" (what differs for this family).
ModelConfig model_preset(ModelKind kind);
// Families without a rank keep `rank` <= hidden (there it only serves as input_rank's
// fallback), so that validate() holds for any hidden size.
void clamp_unused_rank(ModelConfig& config);
// The weights of config.kind.
std::shared_ptr<RecurrentWeightsImpl> make_recurrent_weights(const ModelConfig& config,
                                                             const TrialStructure& structure);

}  // namespace ltrnn
