// The model's options (docs/design.md sections 1-3): one struct, its fields listed once.
// JSON keys equal field names; parsing and writing live in util/json_fields.h.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/family_list.h"
#include "util/fields.h"

namespace ltrnn {

// Model families, one per row of model/family_list.h; their traits are in model/family.h.
enum class ModelKind {
#define LTRNN_FAMILY_ENUM_VALUE(value, name) value,
  LTRNN_MODEL_FAMILIES(LTRNN_FAMILY_ENUM_VALUE)
#undef LTRNN_FAMILY_ENUM_VALUE
};
// The family the benchmarks, the paper's figures and every default are stated for: the
// first row of model/family_list.h (the low-tensor-rank model).
inline constexpr ModelKind kReferenceFamily = static_cast<ModelKind>(0);
// Fixed-step ODE solvers (model/butcher_tableau.h).
enum class Solver { Euler, Heun, RK4 };
// Readout C [D, N]: free linear map, or orthonormal (rows or columns) times a scalar scale.
enum class ReadoutKind { Linear, Orthonormal };
// Trial factors c [K, R]: Gaussian-process smoothed (c = L z + mu), or free per trial.
enum class TrialPrior { GaussianProcess, Free };
enum class KernelKind { RationalQuadratic, SquaredExponential };

template <>
const std::vector<std::pair<ModelKind, std::string>>& EnumNames<ModelKind>::table();
template <>
const std::vector<std::pair<Solver, std::string>>& EnumNames<Solver>::table();
template <>
const std::vector<std::pair<ReadoutKind, std::string>>& EnumNames<ReadoutKind>::table();
template <>
const std::vector<std::pair<TrialPrior, std::string>>& EnumNames<TrialPrior>::table();
template <>
const std::vector<std::pair<KernelKind, std::string>>& EnumNames<KernelKind>::table();

inline std::string to_string(ModelKind v) { return enum_name(v); }
inline std::string to_string(Solver v) { return enum_name(v); }

// The trial-factor prior (docs/design.md section 1): what trial_kernel and TrialValues read.
struct TrialPriorConfig {
  TrialPrior kind = TrialPrior::GaussianProcess;
  KernelKind kernel = KernelKind::RationalQuadratic;
  double length = 20.0;          // l, in trials (units of trial_id)
  double scale = 1.0;            // sigma
  double alpha = 1.0;            // rational-quadratic shape
  double observation_std = 0.1;  // s_obs
  bool discontinuous_epochs = false;
  bool discontinuous_sessions = false;
};

// The model: tau dx/dt = -x + W(k) phi(x) + A u_c(t) + b (docs/design.md section 1).
// These defaults are every family's; models/<family>.json holds what differs per family.
struct ModelConfig {
  ModelKind kind = kReferenceFamily;
  int64_t rank = 2;        // R: number of components (tensor_rank, matrix_rank)
  int64_t hidden = 100;    // N: hidden units
  int64_t input_rank = 0;  // directions of inputs and initial states (0: same as rank; tensor_rank: always rank)
  double tau = 0.1;        // time constant, in the units of `times` (seconds): the start value when learn_tau
  bool learn_tau = true;   // tau is a parameter, fitted through log(tau) (else fixed at tau)
  Solver solver = Solver::Heun;
  int64_t substeps = 1;  // ODE steps per time bin
  ReadoutKind readout = ReadoutKind::Linear;
  bool readout_bias = true;              // d: per-neuron baseline
  bool recurrent_bias = false;           // b in span(A)
  bool inputs_during_execution = false;  // inputs also act at times >= 0 (else only t < 0)
  bool trial_inputs = false;             // inputs also vary over trials with the trial factors (tensor_rank)
  bool free_initial_states = false;      // initial states anywhere in the state space, not only in span(A)
  TrialPrior trial_prior = TrialPrior::GaussianProcess;
  KernelKind kernel = KernelKind::RationalQuadratic;
  double gp_length = 20.0;              // l: kernel length, in trials (units of trial_id)
  double gp_scale = 1.0;                // sigma: kernel standard deviation
  double gp_alpha = 1.0;                // rational-quadratic shape parameter
  double gp_observation_std = 0.1;      // s_obs: c = chol(Kgp + s_obs^2 I) z + mu
  bool discontinuous_epochs = false;    // block-diagonal kernel across epochs
  bool discontinuous_sessions = false;  // block-diagonal kernel across recording sessions

  TrialPriorConfig trial_prior_config() const {
    return {trial_prior,           kernel, gp_length, gp_scale, gp_alpha, gp_observation_std, discontinuous_epochs,
            discontinuous_sessions};
  }

  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("kind", c.kind, "model family");
    v.field("rank", c.rank, "R: number of components of the weight tensor (tensor_rank) or of each W(k) (matrix_rank)");
    v.field("hidden", c.hidden, "N: hidden units of the RNN");
    v.field("input_rank", c.input_rank,
            "directions spanned by inputs and initial states; 0 means the same as rank. tensor_rank always uses "
            "span(A), its column factors");
    v.field("tau", c.tau, "time constant, in the units of the data's times (seconds); with learn_tau its start value");
    v.field("learn_tau", c.learn_tau, "fit the time constant to the data, a positive scalar parameterised by log tau");
    v.field("solver", c.solver, "fixed-step ODE solver: euler, heun or rk4");
    v.field("substeps", c.substeps, "ODE steps per time bin");
    v.field("readout", c.readout,
            "readout C (D x N): linear (free), or orthonormal (orthonormal rows or columns times a learned scale)");
    v.field("readout_bias", c.readout_bias, "per-neuron baseline d in the readout");
    v.field("recurrent_bias", c.recurrent_bias, "a constant bias b in the input subspace");
    v.field("inputs_during_execution", c.inputs_during_execution,
            "inputs act in every bin, not only in preparatory bins (times < 0)");
    v.field("trial_inputs", c.trial_inputs,
            "inputs that also vary over trials with the trial factors: where inputs act, component r is driven "
            "along a_r by v[c,r] c[k,r], so each trial reaches its own state at t = 0 and a preparatory period "
            "in which the state holds still can be represented (tensor_rank; other families have no trial factors)");
    v.field("free_initial_states", c.free_initial_states,
            "initial states anywhere in the N-dimensional state space, x(0) = A s_c + e_c (one e_c per condition), "
            "not only in the span of the input basis; the part outside span(A) decays with tau");
    v.field("trial_prior", c.trial_prior,
            "per-trial parameters: gp (Gaussian-process smoothing over trial_id) or free");
    v.field("kernel", c.kernel, "GP kernel over trial_id: rational_quadratic or squared_exponential");
    v.field("gp_length", c.gp_length, "GP length scale l, in trials (units of trial_id)");
    v.field("gp_scale", c.gp_scale, "GP standard deviation sigma");
    v.field("gp_alpha", c.gp_alpha, "shape parameter of the rational-quadratic kernel");
    v.field("gp_observation_std", c.gp_observation_std, "s_obs: values = chol(Kgp + s_obs^2 I) z + mu");
    v.field("discontinuous_epochs", c.discontinuous_epochs,
            "block-diagonal kernel: no smoothing across epoch boundaries");
    v.field("discontinuous_sessions", c.discontinuous_sessions,
            "block-diagonal kernel: no smoothing across the boundaries of recording sessions (a dataset of several)");
  }
};

// Checks values a JSON type cannot (rank >= 1, rank <= hidden, substeps >= 1, ...);
// InputError naming `pointer` + "/field".
void validate(const ModelConfig& c, const std::string& pointer);

}  // namespace ltrnn
