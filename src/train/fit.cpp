// The training loop, termination and checkpoints.
#include "train/fit.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {

std::optional<std::string> PlateauTermination::should_stop(const std::vector<IterationRecord>& history) {
  const auto n = static_cast<int64_t>(history.size());
  const int64_t S = config_.plateau_window;
  if (S >= 2 && n >= S) {
    double mean = 0, sq = 0;
    for (int64_t i = n - S; i < n; ++i) mean += history[i].test_loss;
    mean /= S;
    for (int64_t i = n - S; i < n; ++i) sq += std::pow(history[i].test_loss - mean, 2);
    if (std::sqrt(sq / S) < config_.plateau_threshold) return "plateau";
  }
  if (config_.patience > 0 && n > config_.patience) {
    const auto best = std::min_element(history.begin(), history.end(),
                                       [](const auto& a, const auto& b) { return a.test_loss < b.test_loss; });
    if (n - 1 - (best - history.begin()) >= config_.patience) return "patience";
  }
  if (n >= config_.iterations) return "iterations";
  return std::nullopt;
}

namespace {

// The objective of DESIGN section 1 for one iteration, and what the iteration records.
struct Evaluation {
  RnnModelImpl::Output output;
  torch::Tensor loss;       // the training objective (differentiable)
  torch::Tensor per_trial;  // [K] sum of the training entries' losses per trial (differentiable)
};

Evaluation evaluate(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                    const torch::Tensor& kept_trials) {
  const int64_t K = target.data.size(1);
  Evaluation e{model->simulate(torch::arange(K, torch::kInt64)), {}, {}};
  // The kept trials' training entries: per-trial sums, then a dot product with the keep mask.
  const torch::Tensor entries = entry_losses(target.loss, e.output.linear, target.data);
  e.per_trial = (entries * target.train_weight).sum(torch::IntArrayRef{0, 2});
  const torch::Tensor kept = kept_trials.to(e.per_trial.scalar_type());
  const double kept_count = std::max(1.0, (target.train_count_per_trial * kept_trials).sum().item<double>());
  e.loss = e.per_trial.dot(kept) / (kept_count * loss_normaliser(target.loss, target.train_variance));
  if (config.l2_hidden > 0) e.loss = e.loss + config.l2_hidden * e.output.hidden.square().mean();
  if (config.l2_inputs > 0) e.loss = e.loss + config.l2_inputs * model->input_penalty();
  return e;
}

std::vector<torch::Tensor> trainable(RnnModel& model) {
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  return params;
}

// Random trial dropout (DESIGN section 1, fraction_masked): keep each trial with
// probability 1 - fraction, but never drop every trial.
torch::Tensor sample_kept_trials(int64_t K, double fraction, std::mt19937_64& rng) {
  std::vector<uint8_t> keep(K);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (auto& k : keep) k = uniform(rng) >= fraction;
  if (std::accumulate(keep.begin(), keep.end(), 0) == 0) keep[0] = 1;
  return torch::from_blob(keep.data(), {K}, torch::kUInt8).to(torch::kBool);
}

}  // namespace

torch::Tensor objective(RnnModel& model, const FitTarget& target, const TrainConfig& config,
                        const torch::Tensor& kept_trials) {
  return evaluate(model, target, config, kept_trials).loss;
}

FitResult fit(RnnModel& model, const FitTarget& target, const TrainConfig& config, Termination& termination,
              const FitHooks& hooks, const FitStart* start) {
  const auto clock_start = std::chrono::steady_clock::now();
  const double seconds_before = start && !start->history.empty() ? start->history.back().seconds : 0.0;
  const auto elapsed = [&] {
    return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count();
  };
  const int64_t K = target.data.size(1);
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed) * 0x9E3779B97F4A7C15ull + 1);
  torch::optim::Adam optimizer(trainable(model), torch::optim::AdamOptions(config.learning_rate));
  FitResult result;
  if (start) {
    // Resume: the saved history and Adam state; replay the dropout draws made so far.
    result.history = start->history;
    if (start->restore_optimizer) start->restore_optimizer(optimizer);
    for (std::size_t i = 0; i < result.history.size(); ++i) sample_kept_trials(K, config.fraction_masked, rng);
    if (!result.history.empty()) {
      if (auto reason = termination.should_stop(result.history)) {
        result.stop_reason = *reason;
        result.seconds = elapsed();
        return result;
      }
    }
  }
  model->train();
  for (int64_t iteration = static_cast<int64_t>(result.history.size()) + 1;; ++iteration) {
    // 1. Forward over all trials; the training term sees the kept trials' training entries.
    const torch::Tensor kept = sample_kept_trials(K, config.fraction_masked, rng);
    const Evaluation evaluation = evaluate(model, target, config, kept);
    const torch::Tensor& loss = evaluation.loss;

    // 2. Record train and test loss of the current parameters (same forward pass).
    IterationRecord record;
    record.iteration = iteration;
    {
      torch::NoGradGuard no_grad;
      record.train_loss = evaluation.per_trial.sum().item<double>() /
                          (std::max(1.0, target.train_count) * loss_normaliser(target.loss, target.train_variance));
      const torch::Tensor entries = entry_losses(target.loss, evaluation.output.linear.detach(), target.data);
      record.test_loss = (entries * target.test_weight).sum().item<double>() /
                         (std::max(1.0, target.test_count) * loss_normaliser(target.loss, target.test_variance));
    }
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value) || !std::isfinite(record.test_loss)) {
      result.diverged = true;
      result.stop_reason = "diverged: non-finite loss at iteration " + std::to_string(iteration);
      break;
    }

    // 3. One Adam step.
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();

    record.seconds = elapsed();
    result.history.push_back(record);
    if (hooks.on_iteration) hooks.on_iteration(record);
    if (hooks.on_checkpoint && iteration % config.checkpoint_every == 0) hooks.on_checkpoint(result.history, optimizer);
    if (auto reason = termination.should_stop(result.history)) {
      result.stop_reason = *reason;
      break;
    }
  }
  result.seconds = elapsed();
  // A diverged fit keeps its last good checkpoint rather than saving non-finite parameters.
  if (hooks.on_checkpoint && !result.diverged) hooks.on_checkpoint(result.history, optimizer);
  return result;
}

void save_checkpoint(const std::filesystem::path& path, RnnModel& model, torch::optim::Optimizer* optimizer,
                     const std::vector<IterationRecord>& history) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  torch::Tensor records = torch::empty({static_cast<int64_t>(history.size()), 4}, torch::kFloat64);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const auto& r = history[i];
    records[i] = torch::tensor({static_cast<double>(r.iteration), r.train_loss, r.test_loss, r.seconds}, torch::kFloat64);
  }
  archive.write("history", records);
  archive.write("model_config", c10::IValue(nlohmann::json(model->config()).dump()));
  // The trial structure, so the model can be rebuilt without the dataset.
  const TrialStructure& s = model->structure();
  archive.write("structure_condition", s.condition);
  archive.write("structure_epoch", s.epoch);
  archive.write("structure_trial_id", s.trial_id);
  archive.write("structure_times", s.times);
  archive.write("structure_input_slot", torch::tensor(s.input_slot, torch::kInt64));
  archive.write("structure_sizes", torch::tensor({s.n_conditions, s.n_neurons}, torch::kInt64));
  archive.write("structure_dt", torch::tensor({s.dt}, torch::kFloat64));
  archive.write("exp_link", torch::tensor({model->exp_link ? 1 : 0}, torch::kInt64));
  write_via_temp(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
}

RnnModel model_from_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string() + ": file not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error&) {
    throw InputError(path.string() + ": not a readable ltrnn checkpoint");
  }
  const auto read = [&](const std::string& key) {
    torch::Tensor t;
    if (!archive.try_read(key, t)) throw InputError(path.string() + ": checkpoint lacks '" + key + "'");
    return t;
  };
  c10::IValue config_text;
  if (!archive.try_read("model_config", config_text)) throw InputError(path.string() + ": checkpoint lacks 'model_config'");
  ModelConfig config;
  update_from_json(config, nlohmann::json::parse(config_text.toStringRef()), path.string() + "#model_config");
  TrialStructure s;
  s.condition = read("structure_condition");
  s.epoch = read("structure_epoch");
  s.trial_id = read("structure_trial_id");
  s.times = read("structure_times");
  const torch::Tensor slots = read("structure_input_slot");
  s.input_slot.assign(slots.data_ptr<int64_t>(), slots.data_ptr<int64_t>() + slots.numel());
  const torch::Tensor sizes = read("structure_sizes");
  s.n_conditions = sizes[0].item<int64_t>();
  s.n_neurons = sizes[1].item<int64_t>();
  s.dt = read("structure_dt")[0].item<double>();
  RnnModel model(config, s);
  torch::serialize::InputArchive model_archive;
  torch::Tensor readout;
  if (archive.try_read("model", model_archive) && model_archive.try_read("readout", readout))
    model->to(readout.scalar_type());  // the precision the model was fitted in
  model->exp_link = read("exp_link")[0].item<int64_t>() != 0;
  load_checkpoint(path, model);
  return model;
}

FitStart load_checkpoint(const std::filesystem::path& path, RnnModel& model) {
  auto archive = std::make_shared<torch::serialize::InputArchive>();
  try {
    archive->load_from(path.string());
  } catch (const c10::Error&) {
    throw InputError(path.string() + ": not a readable ltrnn checkpoint");
  }
  torch::serialize::InputArchive model_archive;
  archive->read("model", model_archive);
  model->load(model_archive);
  torch::Tensor records;
  archive->read("history", records);
  FitStart start;
  const auto r = records.accessor<double, 2>();
  for (int64_t i = 0; i < records.size(0); ++i)
    start.history.push_back({static_cast<int64_t>(r[i][0]), r[i][1], r[i][2], r[i][3]});
  start.restore_optimizer = [archive](torch::optim::Optimizer& optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    if (archive->try_read("optimizer", optimizer_archive)) optimizer.load(optimizer_archive);
  };
  return start;
}

}  // namespace ltrnn
