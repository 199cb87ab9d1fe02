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

namespace ltrnn {

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
  // SGD step on W after each trial of the session. 0.1: with 100 units, 0.5 made the
  // baseline unstable (lateral deviations growing to 1.6 target distances by trial 45).
  double learning_rate = 0.1;
  int64_t pretrain_iterations = 3000;  // Adam iterations on the null field, 8 targets per batch
  double pretrain_learning_rate = 3e-3;
  double effort_weight = 1e-4;    // loss weight of mean |force|^2
  double activity_weight = 1e-3;  // loss weight of mean tanh(x)^2
  double noise = 0.05;            // recording noise std, as a fraction of the recorded signal's std
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
    v.field("learning_rate", c.learning_rate, "SGD step on W after each session trial");
    v.field("pretrain_iterations", c.pretrain_iterations, "Adam iterations of pre-training");
    v.field("pretrain_learning_rate", c.pretrain_learning_rate, "Adam learning rate of pre-training");
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
  torch::Tensor hand;                  // hand position [T, K, 2]
  torch::Tensor lateral_deviation;     // [K] signed peak deviation from the straight path
  torch::Tensor rates;                 // noiseless recorded activity [T, K, D]
  torch::Tensor recorded_units;        // [D] indices of the recorded units
  double pretrain_error = 0;           // RMS hand-position error after pre-training (null field)
  double pretrain_endpoint_error = 0;  // mean distance to the target at the end of the trial
  int64_t pretrain_iterations = 0;
  LearningCurve curve;
};

// `progress` (optional) receives one line now and then during pre-training.
ReachData simulate_reach(const ReachConfig& config, const std::function<void(const std::string&)>& progress = {});

// The data file's keys (docs/design.md section 7) plus weights, hand, lateral_deviation, true_rates, recorded_units.
NpzContents reach_arrays(const ReachData& reach);

// "BL late  AD early  AD late  WO early  WO late" with the deviations below.
std::string format_learning_curve(const LearningCurve& curve);

}  // namespace ltrnn
