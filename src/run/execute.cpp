// One run from dataset to run directory, and the results table.
#include "run/execute.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "export/torchscript.h"
#include "model/family.h"
#include "model/ltrnn_model.h"
#include "run/comparison.h"
#include "train/checkpoint.h"
#include "train/device.h"
#include "train/fit.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

RunRecord planned_record(const ModelConfig& model, const TrainConfig& train) {
  RunRecord record;
  record.id = run_id(model, train);
  record.model = to_string(model.kind);
  record.rank = has_rank(model.kind) ? model.rank : 0;
  record.hidden = model.hidden;
  record.seed = train.seed;
  return record;
}

std::string run_id(const ModelConfig& model, const TrainConfig& train) {
  const std::string rank = has_rank(model.kind) ? "-r" + std::to_string(model.rank) : "";
  return to_string(model.kind) + rank + "-n" + std::to_string(model.hidden) + "-s" + std::to_string(train.seed);
}

namespace {

// log.csv; validation_loss is empty without a validation set.
std::string log_csv(const std::vector<IterationRecord>& history) {
  std::ostringstream out;
  out << "iteration,train_loss,test_loss,seconds,validation_loss\n" << std::setprecision(9);
  for (const auto& r : history) {
    out << r.iteration << ',' << r.train_loss << ',' << r.test_loss << ',' << r.seconds << ',';
    if (!std::isnan(r.validation_loss)) out << r.validation_loss;
    out << '\n';
  }
  return out.str();
}

// A progress line rewritten in place on a terminal; plain lines every ~10 s otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(std::string id, int64_t cap) : id_(std::move(id)), cap_(cap), tty_(isatty(fileno(stderr))) {}
  void update(const IterationRecord& r) {
    const double since = r.seconds - last_print_;
    if (r.iteration != 1 && since < (tty_ ? 0.25 : 10.0)) return;
    last_print_ = r.seconds;
    const double rate = r.iteration / std::max(r.seconds, 1e-9);
    const double left = (cap_ - r.iteration) / std::max(rate, 1e-9);
    char line[256];
    const bool validated = !std::isnan(r.validation_loss);
    std::snprintf(line, sizeof line, "%s  it %lld/%lld  train %.4g  %s %.4g  %.1f it/s  <= %.0f s left", id_.c_str(),
                  static_cast<long long>(r.iteration), static_cast<long long>(cap_), r.train_loss,
                  validated ? "validation" : "test", monitored_loss(r), rate, left);
    if (tty_)
      std::fprintf(stderr, "\r%-110s", line);
    else
      std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
  }
  void finish() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  std::string id_;
  int64_t cap_;
  bool tty_;
  double last_print_ = -1e9;
};

NpzContents factor_arrays(RnnModel& model) {
  torch::NoGradGuard no_grad;
  NpzContents arrays;
  for (const auto& [name, tensor] : model->named_factors()) arrays.emplace_back(name, to_npy(tensor));
  arrays.emplace_back("readout", to_npy(model->readout_matrix()));
  arrays.emplace_back("initial_state", to_npy(model->initial_state));
  arrays.emplace_back("inputs", to_npy(model->inputs));
  if (model->config().readout_bias) arrays.emplace_back("readout_bias", to_npy(model->readout_bias));
  if (model->config().recurrent_bias) arrays.emplace_back("bias", to_npy(model->bias));
  arrays.emplace_back("tau", to_npy(model->log_tau.exp()));  // the fitted time constant (or the fixed one)
  return arrays;
}

// The tau pilot (docs/design.md section 4): the time constant's start chosen by validation.
struct TauPilot {
  std::vector<double> starts;  // seconds
  std::vector<double> losses;  // each short fit's lowest monitored loss (infinite when it diverged)
  double chosen = 0;
  double seconds = 0;  // wall time of the short fits
};

json tau_pilot_json(const TauPilot& pilot) {
  json losses = json::array();
  for (double l : pilot.losses) losses.push_back(std::isfinite(l) ? json(l) : json(nullptr));
  return json{
      {"starts", pilot.starts}, {"held_out_losses", losses}, {"chosen", pilot.chosen}, {"seconds", pilot.seconds}};
}

// Short fits from the model's present parameters with tau starting at each multiple of the
// configured one; the model is left at those parameters with the best start. A fit whose tau
// starts far from the data's can settle where its weights compensate (a rank-2 fit of a
// network ten times slower, tau starting one bin long, stays at twice the noise floor while
// rank 3 reaches it), and that would decide the rank; the short fits tell the starts apart
// within tens of iterations.
TauPilot choose_starting_tau(RnnModel& model, const FitTarget& target, const TrainConfig& config, TrialGroup* group) {
  std::vector<torch::Tensor> initial;
  for (const auto& p : model->parameters()) initial.push_back(p.detach().clone());
  const auto reset = [&](double tau) {
    torch::NoGradGuard no_grad;
    const auto parameters = model->parameters();
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(initial[i]);
    model->log_tau.fill_(std::log(tau));
  };
  const auto began = std::chrono::steady_clock::now();
  TrainConfig short_fit = config;
  short_fit.iterations = config.tau_pilot_iterations;
  TauPilot pilot;
  for (double factor : kTauPilotFactors) {
    const double start = model->config().tau * factor;
    reset(start);
    PlateauTermination termination(short_fit.plateau_options());
    FitResult result;
    try {
      result = fit(model, target, short_fit, termination, FitHooks{}, nullptr, group);
    } catch (const Interrupted& interrupted) {
      // The short fits write no checkpoint: say so, rather than let the caller promise one.
      std::ostringstream what;
      what << "the tau pilot's short fit from " << start << " s: " << interrupted.what()
           << "; no checkpoint yet, this run starts over on resume";
      throw Interrupted(what.str(), interrupted.signal_number);
    }
    double lowest = std::numeric_limits<double>::infinity();
    if (!result.diverged)
      for (const auto& r : result.history) lowest = std::min(lowest, monitored_loss(r));
    pilot.starts.push_back(start);
    pilot.losses.push_back(lowest);
  }
  // The first of equal losses (the order of kTauPilotFactors breaks ties); the configured
  // tau when every short fit diverged.
  const auto best = std::min_element(pilot.losses.begin(), pilot.losses.end()) - pilot.losses.begin();
  pilot.chosen = std::isfinite(pilot.losses[static_cast<std::size_t>(best)])
                     ? pilot.starts[static_cast<std::size_t>(best)]
                     : model->config().tau;
  reset(pilot.chosen);
  pilot.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  return pilot;
}

}  // namespace

RunRecord execute_run(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                      const TrainConfig& train_config, const fs::path& run_dir, const RunOptions& options) {
  const bool writes = !options.distributed || options.distributed->rank() == 0;
  const bool progress = options.progress && writes;
  validate(model_config, "/model");
  validate(train_config, "/train");
  RunRecord record = planned_record(model_config, train_config);
  if (writes) {
    fs::create_directories(run_dir);
    write_file_atomic(
        run_dir / "config.json",
        json{{"id", record.id}, {"model", fields_to_json(model_config)}, {"train", fields_to_json(train_config)}}.dump(
            2) +
            "\n");
  }

  // 1. Seeded model in the requested precision; readout baseline at the training means.
  const auto dtype = train_config.float64 ? torch::kFloat64 : torch::kFloat32;
  if (train_config.threads > 0) use_compute_threads(static_cast<int>(train_config.threads));
  const torch::Device device = resolve_device(train_config.device, train_config.tf32, "/train/device");
  const FitTarget target = make_fit_target(dataset.data, masks, train_config.loss, dataset.counts, dtype);
  RnnModel model = [&] {
    // The initialisation draws from LibTorch's global generator: seed and draw under one
    // lock, so concurrent runs (ltrnn run --jobs) get the same numbers as sequential ones.
    static std::mutex global_generator;
    const std::lock_guard<std::mutex> lock(global_generator);
    torch::manual_seed(static_cast<uint64_t>(train_config.seed));
    return RnnModel(model_config, TrialStructure::from_dataset(dataset, model_config));
  }();
  model->exp_link = target.loss == LossKind::Poisson;
  {
    const torch::Tensor w = masks.train.to(torch::kFloat64);
    torch::Tensor mean =
        (dataset.data * w).sum(torch::IntArrayRef{0, 1}) / w.sum(torch::IntArrayRef{0, 1}).clamp_min(1.0);
    if (model->exp_link) mean = torch::log(mean.clamp_min(1e-3));
    model->set_readout_bias(mean);
  }
  model->to(dtype);
  record.n_params = model->n_params();
  // The fit on its device; what follows it (scores, files, export) on the CPU.
  model->to(device);
  const FitTarget fit_target = device.is_cpu() ? target : on_device(target, device);

  // 2. Fit, with log.csv and a checkpoint every checkpoint_every iterations.
  PlateauTermination termination(train_config.plateau_options());
  ProgressPrinter printer(record.id, train_config.iterations);
  FitHooks hooks;
  if (progress) hooks.on_iteration = [&](const IterationRecord& r) { printer.update(r); };
  if (writes)
    hooks.on_checkpoint = [&](const FitProgress& progress) {
      write_file_atomic(run_dir / "log.csv", log_csv(progress.history));
      save_checkpoint(run_dir / "checkpoint.pt", model, &progress.optimizer, progress.history, progress.best);
    };
  std::optional<FitStart> start;
  if (options.resume && fs::exists(run_dir / "checkpoint.pt"))
    start = load_checkpoint(run_dir / "checkpoint.pt", model);
  // The tau pilot before the fit; a resumed fit continues from its checkpoint (whose tau
  // started where the pilot chose) and reads the pilot's record.
  json pilot_record;
  double pilot_seconds = 0;
  const fs::path pilot_file = run_dir / "tau_pilot.json";
  if (start && fs::exists(pilot_file)) {
    // A record only: the fit goes on from its checkpoint whatever the file holds.
    pilot_record = json::parse(read_file(pilot_file), nullptr, /*allow_exceptions=*/false);
    if (pilot_record.is_discarded()) pilot_record = nullptr;
  } else if (!start && runs_tau_pilot(model_config.learn_tau, train_config)) {
    const TauPilot pilot = choose_starting_tau(model, fit_target, train_config, options.distributed);
    pilot_record = tau_pilot_json(pilot);
    pilot_seconds = pilot.seconds;
    if (writes) write_file_atomic(pilot_file, pilot_record.dump(2) + "\n");
    if (progress) {
      std::ostringstream line;
      line << record.id << ": tau starts at " << pilot.chosen << " s, chosen by " << train_config.tau_pilot_iterations
           << "-iteration fits from " << json(pilot.starts).dump() << " s (lowest held-out loss)\n";
      std::fputs(line.str().c_str(), stderr);
    }
  }
  const FitResult result =
      fit(model, fit_target, train_config, termination, hooks, start ? &*start : nullptr, options.distributed);
  if (progress) printer.finish();
  model->to(torch::kCPU);
  record.iterations = static_cast<int64_t>(result.history.size());
  record.seconds = result.seconds + pilot_seconds;  // iterations: the fit's own
  record.outcome = result.diverged ? RunOutcome::failed(result.stop_reason) : RunOutcome::finished();
  if (!writes) return record;

  // 3. Predictions of the fitted model for every trial, and held-out scores.
  // train_loss and test_loss describe the saved parameters (the history's last record
  // was computed before the last Adam step).
  torch::Tensor prediction, linear;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    const auto out = model->simulate(torch::arange(dataset.n_trials(), torch::kInt64));
    prediction = out.prediction;
    linear = out.linear;
    record.train_loss =
        data_term(target.loss, out.linear, target.data, target.train, target.train_variance).item<double>();
    record.test_loss =
        data_term(target.loss, out.linear, target.data, target.test, target.test_variance).item<double>();
  }
  if (options.predictions) write_npy(run_dir / "predictions.npy", to_npy(prediction));
  // The validation losses per block, for the paired comparison of ranks (run/comparison.h).
  if (target.has_validation()) {
    const std::vector<double> losses = validation_group_losses(linear, target);
    write_npy(run_dir / kValidationLossesFile,
              NpyArray::from_doubles({static_cast<int64_t>(losses.size() / 2), 2}, losses));
  }
  if (options.factors) write_npz(run_dir / "factors.npz", factor_arrays(model));
  if (options.export_model && !result.diverged) save_torchscript(run_dir / "model.pt", model);
  const Scores scores = score_predictions(prediction, linear, target);
  record.test_nmse = scores.test_nmse;
  record.test_r2 = scores.test_r2;
  record.test_nmse_se = scores.test_nmse_se;
  record.validation_entries = static_cast<int64_t>(target.validation_count);
  record.validation_loss = scores.validation_loss;
  record.validation_loss_se = scores.validation_loss_se;
  record.validation_nmse = scores.validation_nmse;
  record.test_bits_per_spike = scores.test_bits_per_spike;
  record.validation_bits_per_spike = scores.validation_bits_per_spike;
  record.test_deviance_explained = scores.test_deviance_explained;
  if (!std::isfinite(record.test_nmse) || (record.validated() && !std::isfinite(record.validation_loss)))
    record.outcome = RunOutcome::failed("non-finite predictions");
  write_run_record(run_dir, record,
                   json{{"stop_reason", result.stop_reason},
                        {"saved_steps", result.saved_steps},
                        {"tau", model->tau()},
                        {"tau_pilot", pilot_record}});
  return record;
}

}  // namespace ltrnn
