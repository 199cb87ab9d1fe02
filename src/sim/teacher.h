// A known low-tensor-rank RNN (the "teacher") that generates a learning dataset whose
// true factors are known: the ground truth for recovery tests and the quickstart.
#pragma once
#include <cstdint>

#include "data/dataset.h"
#include "io/npy.h"
#include "model/config.h"
#include "model/factors.h"

namespace ltrnn {

// What the teacher's state does in the preparatory bins (times < 0).
enum class PreparatoryActivity {
  Driven,  // per-condition inputs act on it, as in the fitted models
  Held,    // it holds still at its condition's initial state until t = 0
};
template <>
const std::vector<std::pair<PreparatoryActivity, std::string>>& EnumNames<PreparatoryActivity>::table();

struct TeacherConfig {
  int64_t rank = 2;               // R: components of the true weight tensor
  int64_t hidden = 40;            // N: teacher hidden units
  int64_t neurons = 40;           // D: recorded neurons
  int64_t conditions = 4;         // task conditions (distinct inputs and initial states)
  int64_t trials_per_epoch = 40;  // trials in each of the epochs BL, AD, WO
  int64_t bins = 40;              // T: time bins per trial
  int64_t preparatory_bins = 10;  // bins before the go cue (times < 0), when inputs act
  double bin_width = 0.02;        // seconds per bin
  double tau = 0.1;               // time constant, seconds
  double noise = 0.05;            // additive Gaussian noise std, as a fraction of the signal std
  int64_t seed = 0;
  // Spiking: Poisson counts per bin from rates exp(C tanh x + d), each neuron's baseline
  // exp(d) drawn log-uniformly in [min_rate, max_rate] Hz (`noise` is then unused).
  bool spikes = false;
  double min_rate = 2.0;    // Hz
  double max_rate = 30.0;   // Hz
  double modulation = 1.0;  // std over time and trials of each neuron's log rate (spiking)
  // Teachers outside the fitted class (the rank-recovery panel, docs/recovery.md).
  PreparatoryActivity preparatory = PreparatoryActivity::Driven;
  bool readout_offset = true;   // a per-neuron baseline d (false: none)
  Solver solver = Solver::RK4;  // the teacher's own integrator
  int64_t substeps = 2;         // its steps per bin
  // Rates: the noiseless activity y of each neuron passed through m + s tanh((y - m) / s),
  // m its mean and s this multiple of the signal's std (0: no saturation).
  double saturation = 0.0;
  int64_t sessions = 1;   // recording sessions the trials are split into, each with its own neurons
  double turnover = 0.0;  // fraction of a session's neurons that the next replaces with new ones

  // The parameters of `ltrnn simulate teacher` and of an experiment's teacher generator.
  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("rank", c.rank, "true rank R");
    v.field("hidden", c.hidden, "teacher hidden units N");
    v.field("neurons", c.neurons, "recorded neurons D");
    v.field("conditions", c.conditions, "task conditions");
    v.field("trials_per_epoch", c.trials_per_epoch, "trials in each epoch (BL, AD, WO)");
    v.field("bins", c.bins, "time bins T per trial");
    v.field("preparatory_bins", c.preparatory_bins, "bins before the go cue");
    v.field("bin_width", c.bin_width, "seconds per bin");
    v.field("tau", c.tau, "time constant (s)");
    v.field("noise", c.noise, "noise std as a fraction of the signal std");
    v.field("seed", c.seed, "random seed");
    v.field("spikes", c.spikes, "Poisson spike counts from rates exp(C tanh x + d) instead of noisy rates");
    v.field("min_rate", c.min_rate, "lowest baseline firing rate (Hz) of a spiking teacher");
    v.field("max_rate", c.max_rate, "highest baseline firing rate (Hz) of a spiking teacher");
    v.field("modulation", c.modulation, "std of each neuron's log firing rate over time and trials (spiking)");
    v.field("preparatory", c.preparatory,
            "the state in the preparatory bins: driven (per-condition inputs act on it) or held (it holds still at "
            "its condition's initial state until t = 0)");
    v.field("readout_offset", c.readout_offset, "a per-neuron baseline in the readout (false: none)");
    v.field("solver", c.solver, "the teacher's integrator: euler, heun or rk4");
    v.field("substeps", c.substeps, "the teacher's integration steps per bin");
    v.field("saturation", c.saturation,
            "rates: each neuron's noiseless activity y passed through m + s tanh((y - m) / s), m its mean and s "
            "this multiple of the signal's std (0: none)");
    v.field("sessions", c.sessions,
            "recording sessions: the trials are split into this many consecutive equal shares, each recorded from "
            "`neurons` neurons of the teacher with columns of its own (the rest of its columns missing)");
    v.field("turnover", c.turnover,
            "fraction of one session's neurons that the next session replaces with neurons not recorded before");
  }
};

struct TeacherData {
  Dataset dataset;          // noisy activity and labels
  TensorRankFactors truth;  // true A [N,R], B [N,R], c [K,R]
  torch::Tensor rates;      // noiseless activity [T, K, D] (spiking: expected counts per bin)
  torch::Tensor baseline;   // spiking: each neuron's baseline expected count per bin [D]
  torch::Tensor readout;    // true C [D, N]
  torch::Tensor unit;       // several sessions: the teacher's neuron each column records [D] (else undefined)
};

// The true trial factors follow a learning curve: constant in baseline, an exponential
// move to a new level during adaptation, an exponential return during washout; odd
// components move up and even components down, so every component matters. A spiking
// teacher's data are integer counts (Poisson draws of `rates`).
TeacherData simulate_teacher(const TeacherConfig& config);

// The dataset's arrays plus true_* arrays (true_column_factors, true_row_factors,
// true_trial_factors, true_readout, true_rates).
NpzContents teacher_arrays(const TeacherData& teacher);
// One session of a teacher of several as a teacher of its own: its trials and neurons
// (data/sessions.h session_dataset), their truth, and `unit` the pool neuron of each column.
TeacherData teacher_session(const TeacherData& teacher, const SessionSpan& span);
// One session of a teacher of several: data_sessions.h session_dataset's arrays, with the
// truth of its trials (true_trial_factors) and its neurons (true_readout, true_unit,
// true_rates).
NpzContents teacher_session_arrays(const TeacherData& teacher, const SessionSpan& span);

}  // namespace ltrnn
