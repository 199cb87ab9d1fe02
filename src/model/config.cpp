// The model's enumerations by name, and the checks of ModelConfig values.
#include "model/config.h"

namespace ltrnn {

template <>
const std::vector<std::pair<ModelKind, std::string>>& EnumNames<ModelKind>::table() {
  static const std::vector<std::pair<ModelKind, std::string>> t{
#define LTRNN_FAMILY_NAME(value, name) {ModelKind::value, #name},
      LTRNN_MODEL_FAMILIES(LTRNN_FAMILY_NAME)
#undef LTRNN_FAMILY_NAME
  };
  return t;
}

template <>
const std::vector<std::pair<Solver, std::string>>& EnumNames<Solver>::table() {
  static const std::vector<std::pair<Solver, std::string>> t{
      {Solver::Euler, "euler"}, {Solver::Heun, "heun"}, {Solver::RK4, "rk4"}};
  return t;
}

template <>
const std::vector<std::pair<ReadoutKind, std::string>>& EnumNames<ReadoutKind>::table() {
  static const std::vector<std::pair<ReadoutKind, std::string>> t{{ReadoutKind::Linear, "linear"},
                                                                  {ReadoutKind::Orthonormal, "orthonormal"}};
  return t;
}

template <>
const std::vector<std::pair<TrialPrior, std::string>>& EnumNames<TrialPrior>::table() {
  static const std::vector<std::pair<TrialPrior, std::string>> t{{TrialPrior::GaussianProcess, "gp"},
                                                                 {TrialPrior::Free, "free"}};
  return t;
}

template <>
const std::vector<std::pair<KernelKind, std::string>>& EnumNames<KernelKind>::table() {
  static const std::vector<std::pair<KernelKind, std::string>> t{
      {KernelKind::RationalQuadratic, "rational_quadratic"}, {KernelKind::SquaredExponential, "squared_exponential"}};
  return t;
}

void validate(const ModelConfig& c, const std::string& p) {
  require(c.rank >= 1, p + "/rank", "must be >= 1");
  require(c.hidden >= 1, p + "/hidden", "must be >= 1");
  require(c.rank <= c.hidden, p + "/rank", "must be <= hidden (" + std::to_string(c.hidden) + ")");
  require(c.input_rank >= 0 && c.input_rank <= c.hidden, p + "/input_rank", "must be in [0, hidden]");
  require(c.tau > 0, p + "/tau", "must be > 0");
  require(c.substeps >= 1, p + "/substeps", "must be >= 1");
  require(c.gp_length > 0, p + "/gp_length", "must be > 0");
  require(c.gp_scale > 0, p + "/gp_scale", "must be > 0");
  require(c.gp_alpha > 0, p + "/gp_alpha", "must be > 0");
  require(c.gp_observation_std > 0, p + "/gp_observation_std", "must be > 0");
}

}  // namespace ltrnn
