// Configuration structs: one per concern, with every default in this one file.
// JSON keys equal field names; unknown keys are errors naming their JSON pointer.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ltrnn {

// Model families (DESIGN section 1). Parsed from strings once, at the edge.
enum class ModelKind { TensorRank, Full, Static, MatrixRank };
// Fixed-step ODE solvers.
enum class Solver { Euler, Heun, RK4 };
// Readout C [D, N]: free linear map, or orthonormal (rows or columns) times a scalar scale.
enum class ReadoutKind { Linear, Orthonormal };
// Trial factors c [K, R]: Gaussian-process smoothed (c = L z + mu), or free per trial.
enum class TrialPrior { GaussianProcess, Free };
enum class KernelKind { RationalQuadratic, SquaredExponential };
// Data term: mean squared error (rates), Poisson NLL (integer counts), or chosen by dtype.
enum class LossKind { Auto, MSE, Poisson };

std::string to_string(ModelKind v);
std::string to_string(Solver v);
std::string to_string(ReadoutKind v);
std::string to_string(TrialPrior v);
std::string to_string(KernelKind v);
std::string to_string(LossKind v);
bool has_rank(ModelKind kind);  // tensor_rank and matrix_rank have a rank; full and static do not
ModelKind parse_model_kind(const std::string& text, const std::string& pointer);
Solver parse_solver(const std::string& text, const std::string& pointer);
LossKind parse_loss_kind(const std::string& text, const std::string& pointer);

// The model: DESIGN section 1, tau dx/dt = -x + W(k) phi(x) + A u_c(t) + b.
struct ModelConfig {
  ModelKind kind = ModelKind::TensorRank;
  int64_t rank = 2;        // R: number of components (tensor_rank, matrix_rank)
  int64_t hidden = 100;    // N: hidden units
  int64_t input_rank = 0;  // directions of inputs and initial states (0: same as rank; tensor_rank: always rank)
  double tau = 0.1;        // time constant, in the units of `times` (seconds)
  Solver solver = Solver::Heun;
  int64_t substeps = 1;    // ODE steps per time bin
  ReadoutKind readout = ReadoutKind::Linear;
  bool readout_bias = true;            // d: per-neuron baseline
  bool recurrent_bias = false;         // b in span(A)
  bool inputs_during_execution = false;  // inputs also act at times >= 0 (else only t < 0)
  TrialPrior trial_prior = TrialPrior::GaussianProcess;
  KernelKind kernel = KernelKind::RationalQuadratic;
  double gp_length = 20.0;        // l: kernel length, in trials (units of trial_id)
  double gp_scale = 1.0;          // sigma: kernel standard deviation
  double gp_alpha = 1.0;          // rational-quadratic shape parameter
  double gp_observation_std = 0.1;  // s_obs: c = chol(Kgp + s_obs^2 I) z + mu
  bool discontinuous_epochs = false;  // block-diagonal kernel across epochs
};

// Training: Adam on the masked loss, stopped by the iteration cap or a plateau.
struct TrainConfig {
  int64_t iterations = 2000;        // iteration cap
  double learning_rate = 0.01;      // Adam step size
  double fraction_masked = 0.1;     // trials dropped from the training loss each iteration
  double l2_hidden = 1e-3;          // weight of mean(x^2) over hidden activity
  double l2_inputs = 1e-3;          // weight of mean((A u)^2) over inputs
  int64_t plateau_window = 100;     // S: iterations in the plateau test (0 disables it)
  double plateau_threshold = 1e-5;  // stop when std(normalised test loss over last S) < this
  int64_t patience = 0;             // stop after this many iterations without a new best test loss (0: off)
  int64_t checkpoint_every = 100;   // M: iterations between checkpoints
  LossKind loss = LossKind::Auto;
  bool float64 = false;             // compute in double precision
  int64_t seed = 0;
  int64_t threads = 0;              // intra-op threads (0: LibTorch's default)
};

// Block cross-validation mask over (time, trial, neuron), DESIGN section 1.
struct MaskConfig {
  double test_fraction = 0.1;                       // target fraction of entries in the test set
  std::array<int64_t, 3> train_half{3, 2, 0};       // held-out block half-sizes (time, trial, neuron)
  std::array<int64_t, 3> test_half{2, 1, 0};        // test block half-sizes, <= train_half
  int64_t seed = 0;
};

struct PreprocessConfig {
  double smooth_sigma = 0.0;  // Gaussian smoothing over time, std in bins (0: none)
  bool zscore = false;        // z-score each neuron over time and trials
};

void to_json(nlohmann::json& j, const ModelConfig& c);
void to_json(nlohmann::json& j, const TrainConfig& c);
void to_json(nlohmann::json& j, const MaskConfig& c);
void to_json(nlohmann::json& j, const PreprocessConfig& c);
// Overlays the keys of `j` onto `c`; unknown keys or wrong types throw InputError naming
// `pointer` + "/key".
void update_from_json(ModelConfig& c, const nlohmann::json& j, const std::string& pointer);
void update_from_json(TrainConfig& c, const nlohmann::json& j, const std::string& pointer);
void update_from_json(MaskConfig& c, const nlohmann::json& j, const std::string& pointer);
void update_from_json(PreprocessConfig& c, const nlohmann::json& j, const std::string& pointer);

// Checks values a JSON type cannot (rank >= 1, substeps >= 1, fractions in range, ...).
void validate(const ModelConfig& c, const std::string& pointer);
void validate(const TrainConfig& c, const std::string& pointer);
void validate(const MaskConfig& c, const std::string& pointer);
void validate(const PreprocessConfig& c, const std::string& pointer);

}  // namespace ltrnn
