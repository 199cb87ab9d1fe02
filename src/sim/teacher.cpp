// The teacher: a planted low-tensor-rank RNN simulated with the model's own dynamics.
#include "sim/teacher.h"

#include <torch/torch.h>

#include <cmath>

#include "data/sessions.h"
#include "model/families/tensor_rank.h"
#include "model/ltrnn_model.h"
#include "util/errors.h"

namespace ltrnn {

template <>
const std::vector<std::pair<PreparatoryActivity, std::string>>& EnumNames<PreparatoryActivity>::table() {
  static const std::vector<std::pair<PreparatoryActivity, std::string>> t{{PreparatoryActivity::Driven, "driven"},
                                                                          {PreparatoryActivity::Held, "held"}};
  return t;
}

namespace {

void check_teacher(const TeacherConfig& c) {
  const auto require = [](bool ok, const std::string& option, const std::string& what) {
    if (!ok) throw InputError("--" + option + ": " + what);
  };
  require(c.rank >= 1, "rank", "must be >= 1");
  require(c.hidden >= c.rank, "hidden", "must be >= rank");
  require(c.neurons >= 1, "neurons", "must be >= 1");
  require(c.conditions >= 1, "conditions", "must be >= 1");
  require(c.conditions <= 3 * c.trials_per_epoch, "conditions",
          "must be <= the number of trials (3 x trials-per-epoch = " + std::to_string(3 * c.trials_per_epoch) + ")");
  require(c.trials_per_epoch >= 1, "trials-per-epoch", "must be >= 1");
  require(c.bins >= 2, "bins", "must be >= 2");
  require(c.preparatory_bins >= 0 && c.preparatory_bins < c.bins, "preparatory-bins", "must be in [0, bins)");
  require(c.bin_width > 0, "bin-width", "must be > 0");
  require(c.tau > 0, "tau", "must be > 0");
  require(c.noise >= 0, "noise", "must be >= 0");
  require(c.min_rate > 0 && c.max_rate >= c.min_rate, "min-rate", "must be > 0 and <= --max-rate");
  require(c.modulation >= 0, "modulation", "must be >= 0");
  require(c.substeps >= 1, "substeps", "must be >= 1");
  require(c.saturation >= 0, "saturation", "must be >= 0");
  require(!(c.spikes && c.saturation > 0), "saturation", "applies to rates; a spiking teacher's rates are exp(...)");
  require(!(c.spikes && !c.readout_offset), "readout-offset",
          "false applies to rates; a spiking teacher's offsets set its neurons' baseline rates");
  require(c.sessions >= 1 && c.sessions <= 3 * c.trials_per_epoch, "sessions",
          "must be in [1, the number of trials (3 x trials-per-epoch)]");
  require(c.turnover >= 0 && c.turnover <= 1, "turnover", "must be in [0, 1]");
}

// Neurons of another session that replace some of the previous session's.
int64_t replaced_per_session(const TeacherConfig& c) {
  return static_cast<int64_t>(std::llround(c.turnover * static_cast<double>(c.neurons)));
}

// The teacher's neurons: those every session records from, D + (S - 1) x replaced.
int64_t pool_neurons(const TeacherConfig& c) { return c.neurons + (c.sessions - 1) * replaced_per_session(c); }

Dataset teacher_skeleton(const TeacherConfig& c) {
  const int64_t K = 3 * c.trials_per_epoch;
  Dataset ds;
  ds.data = torch::zeros({c.bins, K, pool_neurons(c)}, torch::kFloat64);
  ds.condition = torch::arange(K, torch::kInt64).remainder(c.conditions);
  for (int64_t i = 0; i < std::min(c.conditions, K); ++i) ds.condition_labels.push_back(i);
  ds.epoch = torch::arange(K, torch::kInt64).div(c.trials_per_epoch, "floor");
  ds.epoch_labels = {"BL", "AD", "WO"};
  ds.trial_id = torch::arange(K, torch::kInt64);
  ds.times = (torch::arange(c.bins, torch::kFloat64) - static_cast<double>(c.preparatory_bins)) * c.bin_width;
  return ds;
}

// The bins the teacher's dynamics run in: every bin, or with a held preparatory period only
// those from t = 0 (no input acts; the state starts at its condition's initial state).
Dataset dynamics_skeleton(const TeacherConfig& c, const Dataset& full) {
  if (c.preparatory != PreparatoryActivity::Held || c.preparatory_bins == 0) return full;
  Dataset after = full;
  after.times = full.times.narrow(0, c.preparatory_bins, c.bins - c.preparatory_bins);
  after.data = full.data.narrow(0, c.preparatory_bins, c.bins - c.preparatory_bins);
  return after;
}

// The readout's linear part over every bin [T, K, D]: a held preparatory period repeats the
// activity at t = 0, the readout of the initial state.
torch::Tensor simulate_linear(RnnModel& model, const TeacherConfig& c, int64_t K) {
  torch::Tensor linear = model->simulate(torch::arange(K, torch::kInt64)).linear;
  const int64_t held = c.bins - linear.size(0);
  if (held == 0) return linear;
  return torch::cat({linear.narrow(0, 0, 1).expand({held, linear.size(1), linear.size(2)}), linear});
}

// m + s tanh((y - m) / s) per neuron (m its mean over time and trials, s = saturation x the
// signal's std): a readout that saturates, outside the fitted models' linear readout.
torch::Tensor saturate(const torch::Tensor& rates, double saturation) {
  const torch::Tensor m = rates.mean(torch::IntArrayRef{0, 1});
  const double s = saturation * rates.std().item<double>();
  return m + s * torch::tanh((rates - m) / s);
}

// Learning curves for the trial factors [K, R].
torch::Tensor learning_curves(const TeacherConfig& c) {
  const int64_t P = c.trials_per_epoch, K = 3 * P;
  const double timescale = std::max(1.0, P / 4.0);
  torch::Tensor curves = torch::empty({K, c.rank}, torch::kFloat64);
  for (int64_t r = 0; r < c.rank; ++r) {
    const double base = 1.0 + 0.3 * (r % 2);
    const double shift = (r % 2 == 0 ? 1.0 : -1.0) * (0.5 + 0.1 * r);
    double end_of_adaptation = base;
    for (int64_t k = 0; k < K; ++k) {
      double v = base;
      if (k >= P && k < 2 * P) {
        v = base + shift * (1.0 - std::exp(-(k - P + 1) / timescale));
        end_of_adaptation = v;
      } else if (k >= 2 * P) {
        v = base + (end_of_adaptation - base) * std::exp(-(k - 2 * P + 1) / timescale);
      }
      curves[k][r] = v;
    }
  }
  return curves;
}

// The neurons of the pool each session records: the first session 0..D-1; each later one
// replaces round(turnover x D) of the previous session's, drawn at random, with neurons not
// recorded before (electrodes drift, units appear and vanish).
std::vector<torch::Tensor> recorded_neurons(const TeacherConfig& c) {
  std::vector<torch::Tensor> recorded{torch::arange(c.neurons, torch::kInt64)};
  const int64_t replaced = replaced_per_session(c);
  int64_t next_new = c.neurons;
  for (int64_t s = 1; s < c.sessions; ++s) {
    torch::Tensor now = recorded.back().clone();
    const torch::Tensor slots = torch::randperm(c.neurons, torch::kInt64).narrow(0, 0, replaced);
    now.index_put_({slots}, torch::arange(next_new, next_new + replaced, torch::kInt64));
    next_new += replaced;
    recorded.push_back(now);
  }
  return recorded;
}

// The pool's activity as recording sessions (docs/design.md section 7, "Sessions"): session s
// gets an equal consecutive share of the trials and its own columns, one per neuron it
// records, and every other entry is missing; `unit` says which pool neuron each column is, so
// a neuron recorded in two sessions has two columns (the sessions' units are not matched).
void split_into_sessions(TeacherData& t, const TeacherConfig& c) {
  using torch::indexing::Slice;
  const std::vector<torch::Tensor> recorded = recorded_neurons(c);
  const int64_t T = t.dataset.n_bins(), K = t.dataset.n_trials(), S = c.sessions, D = c.neurons;
  Dataset& ds = t.dataset;
  torch::Tensor data = torch::zeros({T, K, S * D}, ds.data.options());
  torch::Tensor rates = torch::zeros({T, K, S * D}, t.rates.options());
  torch::Tensor missing = torch::ones({T, K, S * D}, torch::kBool);
  t.unit = torch::cat(recorded);
  for (int64_t s = 0; s < S; ++s) {
    const int64_t first = s * K / S, trials = (s + 1) * K / S - first;
    const auto rows = Slice(first, first + trials), columns = Slice(s * D, (s + 1) * D);
    data.index_put_({Slice(), rows, columns}, ds.data.index({Slice(), rows}).index_select(2, recorded[s]));
    rates.index_put_({Slice(), rows, columns}, t.rates.index({Slice(), rows}).index_select(2, recorded[s]));
    missing.index_put_({Slice(), rows, columns}, false);
    ds.sessions.push_back({"session " + std::to_string(s + 1), first, trials, s * D, D});
  }
  ds.data = data;
  ds.missing = missing;
  t.rates = rates;
  t.readout = t.readout.index_select(0, t.unit);
  if (t.baseline.defined()) t.baseline = t.baseline.index_select(0, t.unit);
}

}  // namespace

TeacherData simulate_teacher(const TeacherConfig& c) {
  check_teacher(c);
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  TeacherData teacher;
  teacher.dataset = teacher_skeleton(c);

  ModelConfig mc;
  mc.rank = c.rank;
  mc.hidden = c.hidden;
  mc.tau = c.tau;
  mc.solver = c.solver;
  mc.substeps = c.substeps;
  mc.trial_prior = TrialPrior::Free;
  RnnModel model(mc, TrialStructure::from_dataset(dynamics_skeleton(c, teacher.dataset), mc));

  // Plant the truth: row factors lean on their column factors (b_r . a_r ~ 0.8), so each
  // component is a self-exciting mode whose gain c[k, r] changes over learning.
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor A = torch::randn({c.hidden, c.rank}, torch::kFloat64);
    const torch::Tensor An = A / A.norm(2, torch::IntArrayRef{0}, true);
    const torch::Tensor noise = torch::randn({c.hidden, c.rank}, torch::kFloat64);
    const torch::Tensor B = 0.6 * An + 0.8 * noise / noise.norm(2, torch::IntArrayRef{0}, true);
    auto& weights = dynamic_cast<TensorRankWeightsImpl&>(*model->weights_);
    weights.column_raw.copy_(An);
    weights.row_raw.copy_(B);
    weights.trial_prior->set_free_values(learning_curves(c));
    model->initial_state.copy_(torch::randn_like(model->initial_state));
    model->inputs.copy_(torch::randn({c.conditions, 1, c.rank}, torch::kFloat64).expand_as(model->inputs));
    const int64_t D = pool_neurons(c);
    model->readout.copy_(torch::randn({D, c.hidden}, torch::kFloat64) * (2.0 / std::sqrt(double(c.hidden))));
    const torch::Tensor offset = 0.1 * torch::randn({D}, torch::kFloat64);
    model->set_readout_bias(c.readout_offset ? offset : torch::zeros_like(offset));
    const int64_t K = teacher.dataset.n_trials();
    if (c.spikes) {
      // Each neuron's readout row scaled so that its log rate varies with std `modulation`
      // over time and trials, and its bias set so that the log rate's mean is the log of a
      // baseline drawn log-uniformly in [min_rate, max_rate] Hz (times the bin width: an
      // expected count per bin). The baseline is then each neuron's geometric-mean rate.
      model->set_readout_bias(torch::zeros({D}, torch::kFloat64));
      const torch::Tensor linear = simulate_linear(model, c, K);
      const torch::Tensor centre = linear.mean(torch::IntArrayRef{0, 1});
      const torch::Tensor scale =
          c.modulation / linear.std(torch::IntArrayRef{0, 1}, /*unbiased=*/false).clamp_min(1e-9);
      model->readout.mul_(scale.unsqueeze(1));
      const torch::Tensor log_rate =
          std::log(c.min_rate) + (std::log(c.max_rate) - std::log(c.min_rate)) * torch::rand({D}, torch::kFloat64);
      teacher.baseline = log_rate.exp() * c.bin_width;
      model->set_readout_bias(teacher.baseline.log() - centre * scale);
      model->exp_link = true;
    }
    const torch::Tensor linear = simulate_linear(model, c, K);
    teacher.rates = c.spikes ? linear.exp() : linear;
    if (c.saturation > 0) teacher.rates = saturate(teacher.rates, c.saturation);
    if (c.spikes) {
      teacher.dataset.data = torch::poisson(teacher.rates);
      teacher.dataset.counts = true;
    } else {
      const double signal_std = teacher.rates.std().item<double>();
      teacher.dataset.data = teacher.rates + c.noise * signal_std * torch::randn_like(teacher.rates);
    }
    teacher.truth = weights.factors();
    teacher.readout = model->readout_matrix().clone();
  }
  if (c.sessions > 1) split_into_sessions(teacher, c);
  return teacher;
}

NpzContents teacher_arrays(const TeacherData& t) {
  NpzContents arrays = dataset_arrays(t.dataset);
  arrays.emplace_back("true_column_factors", to_npy(t.truth.column));
  arrays.emplace_back("true_row_factors", to_npy(t.truth.row));
  arrays.emplace_back("true_trial_factors", to_npy(t.truth.trial));
  arrays.emplace_back("true_readout", to_npy(t.readout));
  arrays.emplace_back("true_rates", to_npy(t.rates));
  if (t.unit.defined()) arrays.emplace_back("true_unit", to_npy(t.unit));
  return arrays;
}

TeacherData teacher_session(const TeacherData& t, const SessionSpan& span) {
  const auto rows = session_trials(span);
  const auto columns = session_neurons(span);
  TeacherData session;
  session.dataset = session_dataset(t.dataset, span);
  session.truth = {t.truth.column, t.truth.row, t.truth.trial.index({rows})};
  session.rates = t.rates.index(session_block(span));
  if (t.baseline.defined()) session.baseline = t.baseline.index({columns});
  session.readout = t.readout.index({columns});
  if (t.unit.defined()) session.unit = t.unit.index({columns});
  return session;
}

NpzContents teacher_session_arrays(const TeacherData& t, const SessionSpan& span) {
  return teacher_arrays(teacher_session(t, span));
}

}  // namespace ltrnn
