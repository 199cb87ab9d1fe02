// Config structs <-> JSON, with type checks and unknown-key errors that name JSON pointers.
#include "experiment/config.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>
#include <vector>

#include "util/errors.h"

namespace ltrnn {
using nlohmann::json;

namespace {

template <typename E>
struct EnumNames {
  static const std::vector<std::pair<E, std::string>>& table();
};
template <>
const std::vector<std::pair<ModelKind, std::string>>& EnumNames<ModelKind>::table() {
  static const std::vector<std::pair<ModelKind, std::string>> t{
      {ModelKind::TensorRank, "tensor_rank"},
      {ModelKind::Full, "full"},
      {ModelKind::Static, "static"},
      {ModelKind::MatrixRank, "matrix_rank"}};
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
template <>
const std::vector<std::pair<LossKind, std::string>>& EnumNames<LossKind>::table() {
  static const std::vector<std::pair<LossKind, std::string>> t{
      {LossKind::Auto, "auto"}, {LossKind::MSE, "mse"}, {LossKind::Poisson, "poisson"}};
  return t;
}

template <typename E>
std::string name_of(E value) {
  for (const auto& [v, name] : EnumNames<E>::table())
    if (v == value) return name;
  return "?";
}

template <typename E>
E parse_enum(const std::string& text, const std::string& pointer) {
  std::string choices;
  for (const auto& [v, name] : EnumNames<E>::table()) {
    if (name == text) return v;
    choices += (choices.empty() ? "" : ", ") + name;
  }
  throw InputError(pointer + ": unknown value '" + text + "'; expected one of " + choices);
}

// Overlays JSON object keys onto struct fields; remembers which keys it consumed.
class Overlay {
 public:
  Overlay(const json& j, std::string pointer) : j_(j), pointer_(std::move(pointer)) {
    if (!j_.is_object()) throw InputError(pointer_ + ": must be an object");
  }
  void field(const char* key, int64_t& value) {
    if (const json* v = find(key)) {
      if (!v->is_number_integer()) fail(key, "must be an integer");
      value = v->get<int64_t>();
    }
  }
  void field(const char* key, double& value) {
    if (const json* v = find(key)) {
      if (!v->is_number()) fail(key, "must be a number");
      value = v->get<double>();
    }
  }
  void field(const char* key, bool& value) {
    if (const json* v = find(key)) {
      if (!v->is_boolean()) fail(key, "must be true or false");
      value = v->get<bool>();
    }
  }
  void field(const char* key, std::array<int64_t, 3>& value) {
    if (const json* v = find(key)) {
      if (!v->is_array() || v->size() != 3) fail(key, "must be an array of 3 integers (time, trial, neuron)");
      for (std::size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number_integer()) fail(key, "must be an array of 3 integers (time, trial, neuron)");
        value[i] = (*v)[i].get<int64_t>();
      }
    }
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void field(const char* key, E& value) {
    if (const json* v = find(key)) {
      if (!v->is_string()) fail(key, "must be a string");
      value = parse_enum<E>(v->get<std::string>(), pointer_ + "/" + key);
    }
  }
  // Throws on any key that no field consumed.
  void finish() const {
    for (const auto& item : j_.items())
      if (!used_.count(item.key()))
        throw InputError(pointer_ + "/" + item.key() + ": unknown key");
  }

 private:
  const json* find(const char* key) {
    auto it = j_.find(key);
    if (it == j_.end()) return nullptr;
    used_.insert(key);
    return &*it;
  }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw InputError(pointer_ + "/" + key + ": " + what);
  }
  const json& j_;
  std::string pointer_;
  std::set<std::string> used_;
};

// The fields of ModelConfig, listed once: serialisation and parsing both walk this list.
template <typename Config, typename Visitor>
void visit_model(Config& c, Visitor& v) {
  v.field("kind", c.kind);
  v.field("rank", c.rank);
  v.field("hidden", c.hidden);
  v.field("input_rank", c.input_rank);
  v.field("tau", c.tau);
  v.field("solver", c.solver);
  v.field("substeps", c.substeps);
  v.field("readout", c.readout);
  v.field("readout_bias", c.readout_bias);
  v.field("recurrent_bias", c.recurrent_bias);
  v.field("inputs_during_execution", c.inputs_during_execution);
  v.field("trial_prior", c.trial_prior);
  v.field("kernel", c.kernel);
  v.field("gp_length", c.gp_length);
  v.field("gp_scale", c.gp_scale);
  v.field("gp_alpha", c.gp_alpha);
  v.field("gp_observation_std", c.gp_observation_std);
  v.field("discontinuous_epochs", c.discontinuous_epochs);
}

// The fields of TrainConfig, listed once: serialisation and parsing both walk this list.
template <typename Config, typename Visitor>
void visit_train(Config& c, Visitor& v) {
  v.field("iterations", c.iterations);
  v.field("learning_rate", c.learning_rate);
  v.field("fraction_masked", c.fraction_masked);
  v.field("l2_hidden", c.l2_hidden);
  v.field("l2_inputs", c.l2_inputs);
  v.field("plateau_window", c.plateau_window);
  v.field("plateau_threshold", c.plateau_threshold);
  v.field("patience", c.patience);
  v.field("checkpoint_every", c.checkpoint_every);
  v.field("loss", c.loss);
  v.field("float64", c.float64);
  v.field("seed", c.seed);
  v.field("threads", c.threads);
}

// The fields of MaskConfig, listed once: serialisation and parsing both walk this list.
template <typename Config, typename Visitor>
void visit_mask(Config& c, Visitor& v) {
  v.field("test_fraction", c.test_fraction);
  v.field("train_half", c.train_half);
  v.field("test_half", c.test_half);
  v.field("seed", c.seed);
}

// The fields of PreprocessConfig, listed once: serialisation and parsing both walk this list.
template <typename Config, typename Visitor>
void visit_preprocess(Config& c, Visitor& v) {
  v.field("smooth_sigma", c.smooth_sigma);
  v.field("zscore", c.zscore);
}

// Writes each visited field into a JSON object (enums by name).
struct JsonWriter {
  json& j;
  template <typename T>
  void field(const char* key, const T& value) {
    if constexpr (std::is_enum_v<T>) j[key] = name_of(value);
    else j[key] = value;
  }
};

void require(bool ok, const std::string& pointer, const std::string& what) {
  if (!ok) throw InputError(pointer + ": " + what);
}

}  // namespace

std::string to_string(ModelKind v) { return name_of(v); }
bool has_rank(ModelKind kind) { return kind == ModelKind::TensorRank || kind == ModelKind::MatrixRank; }
std::string to_string(Solver v) { return name_of(v); }
std::string to_string(ReadoutKind v) { return name_of(v); }
std::string to_string(TrialPrior v) { return name_of(v); }
std::string to_string(KernelKind v) { return name_of(v); }
std::string to_string(LossKind v) { return name_of(v); }
ModelKind parse_model_kind(const std::string& t, const std::string& p) { return parse_enum<ModelKind>(t, p); }
Solver parse_solver(const std::string& t, const std::string& p) { return parse_enum<Solver>(t, p); }
LossKind parse_loss_kind(const std::string& t, const std::string& p) { return parse_enum<LossKind>(t, p); }

void to_json(json& j, const ModelConfig& c) {
  j = json::object();
  JsonWriter writer{j};
  visit_model(c, writer);
}

void update_from_json(ModelConfig& c, const json& j, const std::string& pointer) {
  Overlay overlay(j, pointer);
  visit_model(c, overlay);
  overlay.finish();
}

void to_json(json& j, const TrainConfig& c) {
  j = json::object();
  JsonWriter writer{j};
  visit_train(c, writer);
}

void update_from_json(TrainConfig& c, const json& j, const std::string& pointer) {
  Overlay overlay(j, pointer);
  visit_train(c, overlay);
  overlay.finish();
}

void to_json(json& j, const MaskConfig& c) {
  j = json::object();
  JsonWriter writer{j};
  visit_mask(c, writer);
}

void update_from_json(MaskConfig& c, const json& j, const std::string& pointer) {
  Overlay overlay(j, pointer);
  visit_mask(c, overlay);
  overlay.finish();
}

void to_json(json& j, const PreprocessConfig& c) {
  j = json::object();
  JsonWriter writer{j};
  visit_preprocess(c, writer);
}

void update_from_json(PreprocessConfig& c, const json& j, const std::string& pointer) {
  Overlay overlay(j, pointer);
  visit_preprocess(c, overlay);
  overlay.finish();
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

void validate(const TrainConfig& c, const std::string& p) {
  require(c.iterations >= 1, p + "/iterations", "must be >= 1");
  require(c.learning_rate > 0, p + "/learning_rate", "must be > 0");
  require(c.fraction_masked >= 0 && c.fraction_masked < 1, p + "/fraction_masked", "must be in [0, 1)");
  require(c.l2_hidden >= 0, p + "/l2_hidden", "must be >= 0");
  require(c.l2_inputs >= 0, p + "/l2_inputs", "must be >= 0");
  require(c.plateau_window >= 0 && c.plateau_window != 1, p + "/plateau_window", "must be 0 (off) or >= 2");
  require(c.plateau_threshold >= 0, p + "/plateau_threshold", "must be >= 0");
  require(c.patience >= 0, p + "/patience", "must be >= 0");
  require(c.checkpoint_every >= 1, p + "/checkpoint_every", "must be >= 1");
  require(c.threads >= 0, p + "/threads", "must be >= 0");
}

void validate(const MaskConfig& c, const std::string& p) {
  require(c.test_fraction > 0 && c.test_fraction < 0.5, p + "/test_fraction", "must be in (0, 0.5)");
  for (int a = 0; a < 3; ++a) {
    require(c.test_half[a] >= 0, p + "/test_half", "half-sizes must be >= 0");
    require(c.test_half[a] <= c.train_half[a], p + "/test_half",
            "each test half-size must be <= the train half-size on the same axis");
  }
}

void validate(const PreprocessConfig& c, const std::string& p) {
  require(c.smooth_sigma >= 0, p + "/smooth_sigma", "must be >= 0");
}

}  // namespace ltrnn
