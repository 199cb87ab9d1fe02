// The reaching RNN: pre-training, the learning session, and the recorded dataset.
#include "sim/reach.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include "util/errors.h"

namespace ltrnn {

template <>
const std::vector<std::pair<PretrainOptimizer, std::string>>& EnumNames<PretrainOptimizer>::table() {
  static const std::vector<std::pair<PretrainOptimizer, std::string>> t{{PretrainOptimizer::Adam, "adam"},
                                                                        {PretrainOptimizer::SGD, "sgd"}};
  return t;
}

template <>
const std::vector<std::pair<ReachActivation, std::string>>& EnumNames<ReachActivation>::table() {
  static const std::vector<std::pair<ReachActivation, std::string>> t{{ReachActivation::Tanh, "tanh"},
                                                                      {ReachActivation::Linear, "linear"}};
  return t;
}

double default_pretrain_learning_rate(PretrainOptimizer optimizer) {
  return optimizer == PretrainOptimizer::Adam ? 3e-3 : 0.05;
}

namespace {

constexpr int64_t kTargets = 8;

// The network: tau dx/dt = -x + W phi(x) + U u(t) + b; force = C phi(x).
struct ReachNetwork {
  torch::Tensor W, U, bias, C;  // [N, N], [N, 3], [N], [2, N]
  ReachActivation activation = ReachActivation::Tanh;
  torch::Tensor phi(const torch::Tensor& x) const { return activation == ReachActivation::Tanh ? torch::tanh(x) : x; }
};

struct Rollout {
  torch::Tensor rates;     // [T, B, N] tanh(x) at the start of each bin
  torch::Tensor position;  // [T, B, 2]
  torch::Tensor force;     // [T, B, 2]
};

torch::Tensor bin_times(const ReachConfig& c) {
  return (torch::arange(c.bins, torch::kFloat64) - static_cast<double>(c.preparatory_bins)) * c.bin_width;
}

torch::Tensor target_positions(const ReachConfig& c, const torch::Tensor& target_index) {
  const torch::Tensor angle = target_index.to(torch::kFloat64) * (2 * M_PI / kTargets);
  return c.distance * torch::stack({torch::cos(angle), torch::sin(angle)}, 1);  // [B, 2]
}

// Hold at the centre before the go cue, a minimum-jerk reach s(tau) = 10 tau^3 - 15 tau^4 +
// 6 tau^5 over movement_time, then hold at the target: [T, B, 2].
torch::Tensor desired_path(const ReachConfig& c, const torch::Tensor& targets) {
  const torch::Tensor phase = (bin_times(c) / c.movement_time).clamp(0.0, 1.0);
  const torch::Tensor s = phase.pow(3) * (10 - 15 * phase + 6 * phase.pow(2));
  return s.view({-1, 1, 1}) * targets.unsqueeze(0);
}

// Inputs: target (cos, sin) during the whole trial, go cue from t = 0: [T, B, 3].
torch::Tensor task_inputs(const ReachConfig& c, const torch::Tensor& targets) {
  const int64_t B = targets.size(0);
  const torch::Tensor go = (bin_times(c) >= 0).to(torch::kFloat64).view({-1, 1, 1}).expand({c.bins, B, 1});
  return torch::cat({(targets / c.distance).unsqueeze(0).expand({c.bins, B, 2}), go}, 2);
}

// Euler integration of the RNN and the point-mass hand, m dv/dt = F + b J v - k v.
Rollout roll_out(const ReachConfig& c, const ReachNetwork& net, const torch::Tensor& inputs, double curl) {
  const int64_t B = inputs.size(1), N = net.W.size(0);
  const double h = c.bin_width / static_cast<double>(c.substeps);
  torch::Tensor x = torch::zeros({B, N}, torch::kFloat64);
  torch::Tensor p = torch::zeros({B, 2}, torch::kFloat64), v = torch::zeros({B, 2}, torch::kFloat64);
  std::vector<torch::Tensor> rates, positions, forces;
  for (int64_t bin = 0; bin < c.bins; ++bin) {
    const torch::Tensor drive = inputs[bin].mm(net.U.t()) + net.bias;
    for (int64_t s = 0; s < c.substeps; ++s) {
      const torch::Tensor r = net.phi(x);
      const torch::Tensor force = r.mm(net.C.t());
      if (s == 0) {
        rates.push_back(r);
        positions.push_back(p);
        forces.push_back(force);
      }
      const torch::Tensor field = curl * torch::stack({v.select(1, 1), -v.select(1, 0)}, 1);
      const torch::Tensor acceleration = (force + field - c.damping * v) / c.mass;
      x = x + (h / c.tau) * (-x + r.mm(net.W.t()) + drive);
      p = p + h * v;
      v = v + h * acceleration;
    }
  }
  return {torch::stack(rates), torch::stack(positions), torch::stack(forces)};
}

struct ReachLoss {
  torch::Tensor total, position_mse;
};

ReachLoss reach_loss(const ReachConfig& c, const Rollout& r, const torch::Tensor& desired) {
  const torch::Tensor position_mse = (r.position - desired).pow(2).sum(2).mean();
  const torch::Tensor total =
      position_mse + c.effort_weight * r.force.pow(2).sum(2).mean() + c.activity_weight * r.rates.pow(2).mean();
  return {total, position_mse};
}

// Signed peak deviation from the straight centre-to-target line during the reach and the
// following 100 ms: positive to the left of the direction of motion.
torch::Tensor lateral_deviation_of(const ReachConfig& c, const torch::Tensor& position, const torch::Tensor& targets) {
  const torch::Tensor normal = torch::stack({-targets.select(1, 1), targets.select(1, 0)}, 1) / c.distance;  // [B, 2]
  const torch::Tensor lateral = (position * normal.unsqueeze(0)).sum(2);                                     // [T, B]
  const torch::Tensor times = bin_times(c);
  const torch::Tensor window = ((times >= 0) & (times <= c.movement_time + 0.1)).view({-1, 1});
  const torch::Tensor masked = torch::where(window, lateral, torch::zeros_like(lateral));
  const torch::Tensor peak = masked.abs().argmax(0);  // [B]
  return masked.gather(0, peak.unsqueeze(0)).squeeze(0);
}

void check(const ReachConfig& c) {
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw InputError("simulate reach: " + what);
  };
  need(c.hidden >= 2, "hidden must be >= 2");
  need(c.recorded >= 0 && c.recorded <= c.hidden, "recorded must be in 0..hidden (0: all units)");
  need(c.trials_per_epoch >= 1, "trials-per-epoch must be >= 1");
  need(c.preparatory_bins >= 0 && c.preparatory_bins < c.bins, "preparatory-bins must be in 0..bins-1");
  need(c.bin_width > 0 && c.tau > 0 && c.movement_time > 0 && c.distance > 0 && c.mass > 0,
       "bin-width, tau, movement-time, distance and mass must be > 0");
  need(c.substeps >= 1 && c.pretrain_iterations >= 0, "substeps must be >= 1 and pretrain-iterations >= 0");
  need(c.noise >= 0 && c.learning_rate >= 0 && c.damping >= 0, "noise, learning-rate and damping must be >= 0");
  need(c.init_gain >= 0 && c.pretrain_learning_rate >= 0, "init-gain and pretrain-learning-rate must be >= 0");
  need(c.pretrain_momentum >= 0 && c.pretrain_momentum < 1, "pretrain-momentum must be in [0, 1)");
}

std::unique_ptr<torch::optim::Optimizer> pretrain_optimizer(const ReachConfig& c, std::vector<torch::Tensor> params) {
  const double lr =
      c.pretrain_learning_rate > 0 ? c.pretrain_learning_rate : default_pretrain_learning_rate(c.pretrain_optimizer);
  if (c.pretrain_optimizer == PretrainOptimizer::Adam)
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr));
  return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(lr).momentum(c.pretrain_momentum));
}

double mean_of(const torch::Tensor& values, int64_t begin, int64_t count) {
  return values.narrow(0, begin, count).mean().item<double>();
}

}  // namespace

ReachData simulate_reach(const ReachConfig& c, const std::function<void(const std::string&)>& progress) {
  check(c);
  torch::NoGradGuard outer_no_grad;
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(c.seed));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t N = c.hidden;
  ReachNetwork net{c.init_gain * torch::randn({N, N}, generator, f64) / std::sqrt(static_cast<double>(N)),
                   torch::randn({N, 3}, generator, f64), torch::zeros({N}, f64),
                   0.1 * torch::randn({2, N}, generator, f64) / std::sqrt(static_cast<double>(N)), c.activation};
  ReachData out;

  // 1. Pre-training on the null field: all 8 targets per batch, Adam or SGD on W, U, b and C.
  const torch::Tensor all_targets = target_positions(c, torch::arange(kTargets, torch::kInt64));
  const torch::Tensor all_inputs = task_inputs(c, all_targets), all_desired = desired_path(c, all_targets);
  {
    torch::AutoGradMode grad(true);
    for (torch::Tensor* p : {&net.W, &net.U, &net.bias, &net.C}) p->set_requires_grad(true);
    const auto optimizer = pretrain_optimizer(c, {net.W, net.U, net.bias, net.C});
    for (int64_t it = 1; it <= c.pretrain_iterations; ++it) {
      const ReachLoss loss = reach_loss(c, roll_out(c, net, all_inputs, 0.0), all_desired);
      if (!std::isfinite(loss.total.item<double>()))
        throw InputError("simulate reach: pre-training diverged at iteration " + std::to_string(it) +
                         " (loss not finite); lower pretrain-learning-rate");
      optimizer->zero_grad();
      loss.total.backward();
      optimizer->step();
      if (progress && (it == 1 || it % 500 == 0))
        progress("pre-training " + std::to_string(it) + "/" + std::to_string(c.pretrain_iterations) +
                 ": RMS position error " + std::to_string(std::sqrt(loss.position_mse.item<double>())));
    }
    for (torch::Tensor* p : {&net.W, &net.U, &net.bias, &net.C}) *p = p->detach();
  }
  if (!torch::isfinite(net.W).all().item<bool>())
    throw InputError("simulate reach: pre-training diverged (weights not finite); lower pretrain-learning-rate");
  {
    const Rollout r = roll_out(c, net, all_inputs, 0.0);
    out.pretrain_error = std::sqrt(reach_loss(c, r, all_desired).position_mse.item<double>());
    out.pretrain_endpoint_error = (r.position[c.bins - 1] - all_targets).norm(2, 1).mean().item<double>();
    out.pretrain_iterations = c.pretrain_iterations;
  }

  // 2. The session: BL (no field), AD (curl field), WO (no field); targets in shuffled
  //    blocks of 8; one SGD step on W after each trial, on that trial's loss.
  const int64_t K = 3 * c.trials_per_epoch;
  std::mt19937_64 rng(static_cast<uint64_t>(c.seed) * 0x9E3779B97F4A7C15ull + 7);
  std::vector<int64_t> order;
  while (static_cast<int64_t>(order.size()) < K) {
    std::vector<int64_t> block(kTargets);
    std::iota(block.begin(), block.end(), 0);
    std::shuffle(block.begin(), block.end(), rng);
    order.insert(order.end(), block.begin(), block.end());
  }
  order.resize(static_cast<std::size_t>(K));
  const torch::Tensor target_index = torch::tensor(order, torch::kInt64);
  torch::Tensor weights = torch::empty({K, N, N}, f64), rates = torch::empty({c.bins, K, N}, f64);
  torch::Tensor hand = torch::empty({c.bins, K, 2}, f64), deviation = torch::empty({K}, f64);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t epoch = k / c.trials_per_epoch;
    const double curl = epoch == 1 ? c.curl : 0.0;
    const torch::Tensor target = all_targets.narrow(0, order[k], 1);
    weights[k].copy_(net.W);
    torch::AutoGradMode grad(true);
    ReachNetwork trial_net = net;
    trial_net.W = net.W.clone().set_requires_grad(true);
    const Rollout r = roll_out(c, trial_net, all_inputs.narrow(1, order[k], 1), curl);
    const ReachLoss loss = reach_loss(c, r, all_desired.narrow(1, order[k], 1));
    const torch::Tensor gradient = torch::autograd::grad({loss.total}, {trial_net.W})[0];
    {
      torch::NoGradGuard no_grad;
      rates.select(1, k).copy_(r.rates.squeeze(1));
      hand.select(1, k).copy_(r.position.squeeze(1));
      deviation[k] = lateral_deviation_of(c, r.position, target)[0];
      net.W = net.W - c.learning_rate * gradient;
    }
    if (!torch::isfinite(net.W).all().item<bool>())
      throw InputError("simulate reach: the session diverged at trial " + std::to_string(k) +
                       " (weights not finite); lower learning-rate");
  }

  // 3. The recording: a random subset of units, plus noise.
  const torch::Tensor units = std::get<0>(torch::randperm(N, generator, torch::TensorOptions().dtype(torch::kInt64))
                                              .narrow(0, 0, c.recorded > 0 ? c.recorded : N)
                                              .sort());
  out.rates = rates.index_select(2, units);
  const double signal_std = out.rates.std().item<double>();
  Dataset& ds = out.dataset;
  ds.data = out.rates + c.noise * signal_std * torch::randn(out.rates.sizes(), generator, f64);
  ds.condition = target_index;
  for (int64_t t = 0; t < kTargets; ++t) ds.condition_labels.push_back(t);
  ds.epoch = torch::arange(K, torch::kInt64).div(c.trials_per_epoch, "floor");
  ds.epoch_labels = {"BL", "AD", "WO"};
  ds.trial_id = torch::arange(K, torch::kInt64);
  ds.times = bin_times(c);
  out.weights = weights;
  out.input_weights = net.U;
  out.readout_weights = net.C;
  out.bias = net.bias;
  out.hand = hand;
  out.lateral_deviation = deviation;
  out.recorded_units = units;

  const int64_t P = c.trials_per_epoch, w = std::min<int64_t>(8, P);
  out.curve = {mean_of(deviation, P - w, w), mean_of(deviation, P, w),         mean_of(deviation, 2 * P - w, w),
               mean_of(deviation, 2 * P, w), mean_of(deviation, 3 * P - w, w), w};
  return out;
}

NpzContents reach_arrays(const ReachData& r) {
  NpzContents arrays = dataset_arrays(r.dataset);
  arrays.emplace_back("weights", to_npy(r.weights));
  arrays.emplace_back("input_weights", to_npy(r.input_weights.contiguous()));
  arrays.emplace_back("readout_weights", to_npy(r.readout_weights.contiguous()));
  arrays.emplace_back("bias", to_npy(r.bias.contiguous()));
  arrays.emplace_back("hand", to_npy(r.hand));
  arrays.emplace_back("lateral_deviation", to_npy(r.lateral_deviation));
  arrays.emplace_back("true_rates", to_npy(r.rates));
  arrays.emplace_back("recorded_units", to_npy(r.recorded_units));
  return arrays;
}

std::string format_learning_curve(const LearningCurve& c) {
  char line[256];
  std::snprintf(line, sizeof line,
                "lateral deviation (mean of %lld trials): BL late %+.4f | AD early %+.4f, AD late %+.4f | "
                "WO early %+.4f, WO late %+.4f",
                static_cast<long long>(c.window), c.baseline_late, c.field_early, c.field_late, c.washout_early,
                c.washout_late);
  return line;
}

}  // namespace ltrnn
