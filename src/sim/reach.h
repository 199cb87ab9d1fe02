// A task-trained RNN that learns to reach under a curl force field (the setting of the
// paper's section 5 and of the monkey experiments it models): pre-trained on centre-out
// reaches, then adapted trial by trial to a velocity-dependent curl field and washed out.
// Its recurrent weights on every trial are known, so the tensor rank of learning can be
// checked against what an ltrRNN fitted to its activity recovers.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "data/dataset.h"
#include "io/npy.h"
#include "util/fields.h"

namespace ltrnn {

// Pre-training optimiser. SGD (with momentum) moves every weight along a combination of
// its gradients, so the span argument of docs/design.md section 10 holds; Adam rescales
// each weight's gradient separately and leaves that span.
enum class PretrainOptimizer { Adam, SGD };
// phi in tau dx/dt = -x + W phi(x) + U u + b: tanh, or the identity (the linear network of
// docs/design.md section 10, where the rank bound is exact).
enum class ReachActivation { Tanh, Linear };
template <>
const std::vector<std::pair<PretrainOptimizer, std::string>>& EnumNames<PretrainOptimizer>::table();
template <>
const std::vector<std::pair<ReachActivation, std::string>>& EnumNames<ReachActivation>::table();

struct ReachConfig {
  int64_t hidden = 100;           // N: units of the rate RNN
  int64_t recorded = 0;           // D: units recorded, a random subset (0: all `hidden` units)
  int64_t trials_per_epoch = 80;  // trials in each of baseline (BL), curl field (AD) and washout (WO)
  int64_t bins = 50;              // T: recorded time bins per trial
  int64_t preparatory_bins = 10;  // bins before the go cue (target shown, hold at the centre)
  double bin_width = 0.02;        // seconds per bin
  int64_t substeps = 2;           // Euler steps per bin (RNN and hand)
  double tau = 0.05;              // RNN time constant, seconds
  double movement_time = 0.5;     // duration of the minimum-jerk reach, seconds
  double distance = 1.0;          // centre-to-target distance
  double mass = 1.0;              // point-mass hand
  double damping = 2.0;           // viscous damping of the hand
  double curl = 4.0;              // b: field force = b [[0, 1], [-1, 0]] v during AD
  // Initial W = init_gain x a Gaussian matrix with entries of variance 1/N (spectral radius
  // ~ init_gain); 0 starts from W = 0, the setting of the rank bound (docs/design.md section 10).
  double init_gain = 0.9;
  ReachActivation activation = ReachActivation::Tanh;
  // SGD step on W after each trial of the session. 0.1: with 100 units, 0.5 made the
  // baseline unstable (lateral deviations growing to 1.6 target distances by trial 45).
  double learning_rate = 0.1;
  int64_t pretrain_iterations = 3000;  // iterations on the null field, 8 targets per batch
  PretrainOptimizer pretrain_optimizer = PretrainOptimizer::Adam;
  double pretrain_learning_rate = 0;  // 0: the optimiser's default (default_pretrain_learning_rate)
  double pretrain_momentum = 0.9;     // SGD's momentum (heavy ball; 0: plain gradient descent)
  double effort_weight = 1e-4;        // loss weight of mean |force|^2
  double activity_weight = 1e-3;      // loss weight of mean phi(x)^2
  double noise = 0.05;                // recording noise std, as a fraction of the recorded signal's std
  int64_t seed = 0;

  // The parameters of `ltrnn simulate reach` and of an experiment's reach generator (the
  // hand's mechanics and the loss weights above are fixed).
  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("hidden", c.hidden, "RNN units N");
    v.field("recorded", c.recorded, "units recorded, a random subset (0: all)");
    v.field("trials_per_epoch", c.trials_per_epoch, "trials in each of BL, AD, WO");
    v.field("bins", c.bins, "time bins T per trial");
    v.field("preparatory_bins", c.preparatory_bins, "bins before the go cue");
    v.field("bin_width", c.bin_width, "seconds per bin");
    v.field("substeps", c.substeps, "Euler steps per bin");
    v.field("tau", c.tau, "RNN time constant (s)");
    v.field("movement_time", c.movement_time, "duration of the minimum-jerk reach (s)");
    v.field("curl", c.curl, "curl field strength b (force = b [[0,1],[-1,0]] v)");
    v.field("init_gain", c.init_gain, "scale of the random initial W (0: start from W = 0)");
    v.field("activation", c.activation, "phi of the RNN");
    v.field("learning_rate", c.learning_rate, "SGD step on W after each session trial");
    v.field("pretrain_iterations", c.pretrain_iterations, "iterations of pre-training");
    v.field("pretrain_optimizer", c.pretrain_optimizer, "optimiser of pre-training");
    v.field("pretrain_learning_rate", c.pretrain_learning_rate,
            "learning rate of pre-training (0: 3e-3 for adam, 0.05 for sgd)");
    v.field("pretrain_momentum", c.pretrain_momentum, "momentum of SGD pre-training");
    v.field("noise", c.noise, "recording noise std as a fraction of the signal std");
    v.field("seed", c.seed, "random seed");
  }
};

// Mean lateral deviation over the first or last trials of an epoch.
struct LearningCurve {
  double baseline_late = 0, field_early = 0, field_late = 0, washout_early = 0, washout_late = 0;
  int64_t window = 8;  // trials averaged at each point
};

struct ReachData {
  Dataset dataset;                     // recorded activity (noisy), condition = target, epoch BL/AD/WO
  torch::Tensor weights;               // W used on each trial [K, N, N], float64
  torch::Tensor input_weights;         // U [N, 3] (inputs: target cos, sin, go cue), after pre-training
  torch::Tensor readout_weights;       // C [2, N] (force = C phi(x)), after pre-training
  torch::Tensor bias;                  // b [N], after pre-training
  torch::Tensor hand;                  // hand position [T, K, 2]
  torch::Tensor lateral_deviation;     // [K] signed peak deviation from the straight path
  torch::Tensor rates;                 // noiseless recorded activity [T, K, D]
  torch::Tensor recorded_units;        // [D] indices of the recorded units
  double pretrain_error = 0;           // RMS hand-position error after pre-training (null field)
  double pretrain_endpoint_error = 0;  // mean distance to the target at the end of the trial
  int64_t pretrain_iterations = 0;
  LearningCurve curve;
};

// The learning rate pre-training uses when pretrain_learning_rate is 0.
double default_pretrain_learning_rate(PretrainOptimizer optimizer);

// `progress` (optional) receives one line now and then during pre-training.
ReachData simulate_reach(const ReachConfig& config, const std::function<void(const std::string&)>& progress = {});

// The data file's keys (docs/design.md section 7) plus weights, input_weights,
// readout_weights, bias, hand, lateral_deviation, true_rates, recorded_units.
NpzContents reach_arrays(const ReachData& reach);

// "BL late  AD early  AD late  WO early  WO late" with the deviations below.
std::string format_learning_curve(const LearningCurve& curve);

}  // namespace ltrnn
