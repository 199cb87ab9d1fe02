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

#include "data/sessions.h"
#include "export/torchscript.h"
#include "model/components.h"
#include "model/family.h"
#include "model/ltrnn_model.h"
#include "model/refit.h"
#include "run/comparison.h"
#include "train/checkpoint.h"
#include "train/device.h"
#include "train/fit.h"
#include "train/tau_pilot.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

RunRecord planned_record(const ModelConfig& model, const TrainConfig& train) {
  RunRecord record;
  record.id = run_id(model, train);
  record.model = model.kind;
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

// log.csv; validation_loss is empty without a validation set; optimizer: adam, or lbfgs in
// the polish.
std::string log_csv(const std::vector<IterationRecord>& history) {
  std::ostringstream out;
  out << "iteration,train_loss,test_loss,seconds,validation_loss,optimizer\n" << std::setprecision(9);
  for (const auto& r : history) {
    out << r.iteration << ',' << r.train_loss << ',' << r.test_loss << ',' << r.seconds << ',';
    if (!std::isnan(r.validation_loss)) out << r.validation_loss;
    out << ',' << (r.polish ? "lbfgs" : "adam") << '\n';
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
  if (model->has_trial_inputs()) arrays.emplace_back("trial_inputs", to_npy(model->trial_inputs));
  if (model->initial_offset.defined()) arrays.emplace_back("initial_offset", to_npy(model->initial_offset));
  if (model->config().readout_bias) arrays.emplace_back("readout_bias", to_npy(model->readout_bias));
  if (model->config().recurrent_bias) arrays.emplace_back("bias", to_npy(model->bias));
  arrays.emplace_back("tau", to_npy(model->log_tau.exp()));  // the fitted time constant (or the fixed one)
  return arrays;
}

json tau_pilot_json(const TauPilot& pilot) {
  json losses = json::array();
  for (double l : pilot.losses) losses.push_back(std::isfinite(l) ? json(l) : json(nullptr));
  return json{
      {"starts", pilot.starts}, {"held_out_losses", losses}, {"chosen", pilot.chosen}, {"seconds", pilot.seconds}};
}

// LibTorch's global generator draws every new model's initial parameters: runs on other
// threads (ltrnn run --jobs) seed and draw under this lock, so any model built while they
// do (a ladder start's source, the discretisation check's copy) must hold it too.
std::mutex& global_generator() {
  static std::mutex lock;
  return lock;
}

// 1. The seeded model in the fit's precision, the readout baseline at the training means.
RnnModel initial_model(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                       const TrainConfig& train_config, const FitTarget& target) {
  RnnModel model = [&] {
    // The initialisation draws from LibTorch's global generator: seed and draw under one
    // lock, so concurrent runs (ltrnn run --jobs) get the same numbers as sequential ones.
    const std::lock_guard<std::mutex> lock(global_generator());
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
  model->to(train_config.float64 ? torch::kFloat64 : torch::kFloat32);
  return model;
}

// The tau pilot's record (tau_pilot.json): run before a fresh fit when it applies; a resumed
// fit continues from its checkpoint (whose tau started where the pilot chose) and reads the
// pilot's record, which is a record only: the fit goes on whatever the file holds.
struct PilotOutcome {
  json record;
  double seconds = 0;
};

PilotOutcome tau_pilot_for(RnnModel& model, const FitTarget& fit_target, const ModelConfig& model_config,
                           const TrainConfig& train_config, const fs::path& run_dir, const RunOptions& options,
                           bool resumed, bool writes, const std::string& id) {
  PilotOutcome outcome;
  const fs::path pilot_file = run_dir / "tau_pilot.json";
  if (resumed && fs::exists(pilot_file)) {
    outcome.record = json::parse(read_file(pilot_file), nullptr, /*allow_exceptions=*/false);
    if (outcome.record.is_discarded()) outcome.record = nullptr;
  } else if (!resumed && runs_tau_pilot(model_config.learn_tau, train_config)) {
    const TauPilot pilot = choose_starting_tau(model, fit_target, train_config, options.distributed);
    outcome.record = tau_pilot_json(pilot);
    outcome.seconds = pilot.seconds;
    if (writes) write_file_atomic(pilot_file, outcome.record.dump(2) + "\n");
    if (options.progress && writes) {
      const std::string line = id + ": " + pilot.summary(train_config.tau_pilot_iterations) + "\n";
      std::fputs(line.c_str(), stderr);
    }
  }
  return outcome;
}

// The discretisation check (docs/design.md section 5): the saved model's validation loss with
// its substeps doubled, scored as validation_loss is.
double validation_loss_with_double_substeps(const RnnModel& model, const FitTarget& target) {
  ModelConfig finer_config = model->config();
  finer_config.substeps *= 2;
  RnnModel finer{nullptr};
  {
    const std::lock_guard<std::mutex> lock(global_generator());
    finer = RnnModel(finer_config, model->structure());
  }
  finer->exp_link = model->exp_link;
  finer->fused_integration = model->fused_integration;
  torch::NoGradGuard no_grad;
  finer->to(model->log_tau.scalar_type());
  const auto from = model->named_parameters();
  for (auto& item : finer->named_parameters()) item.value().copy_(from[item.key()]);
  finer->eval();
  const auto out = finer->simulate(torch::arange(target.data.size(1), torch::kInt64));
  return score_predictions(out.prediction, out.linear, target).validation_loss;
}

// The held-out scores of each recording session of `dataset` (none for one session): the
// scores of score_predictions over the session's trials and neurons alone.
std::vector<SessionScores> session_scores(const torch::Tensor& prediction, const torch::Tensor& linear,
                                          const Dataset& dataset, const FitTarget& target) {
  std::vector<SessionScores> scores;
  for (const SessionSpan& span : dataset.sessions) {
    const auto block = session_block(span);
    Masks masks;
    masks.train = target.train.index(block).cpu();
    masks.validation = target.validation.index(block).cpu();
    masks.test = target.test.index(block).cpu();
    SessionScores s{span.name};
    if (masks.test.any().item<bool>() && masks.train.any().item<bool>()) {
      const FitTarget own = make_fit_target(target.data.index(block).cpu(), masks, target.loss,
                                            target.loss == LossKind::Poisson, linear.scalar_type());
      const Scores session = score_predictions(prediction.index(block), linear.index(block), own);
      s.test_nmse = session.test_nmse;
      s.test_r2 = session.test_r2;
      s.test_bits_per_spike = session.test_bits_per_spike;
      s.validation_loss = session.validation_loss;
    }
    scores.push_back(s);
  }
  return scores;
}

// 3. Predictions of the fitted model for every trial and the held-out scores, written with
// the arrays the experiment asks for. train_loss and test_loss describe the saved parameters
// (the history's last record was computed before the last Adam step).
void score_and_write(RnnModel& model, const Dataset& dataset, const FitTarget& target, const fs::path& run_dir,
                     const RunOptions& options, bool export_model, RunRecord& record) {
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
  if (export_model) save_torchscript(run_dir / "model.pt", model);
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
  record.sessions = session_scores(prediction, linear, dataset, target);
  if (target.has_validation())
    record.validation_loss_double_substeps = validation_loss_with_double_substeps(model, target);
  if (!std::isfinite(record.test_nmse) || (record.validated() && !std::isfinite(record.validation_loss)))
    record.outcome = RunOutcome::failed("non-finite predictions");
}

// A ladder start: `model` from the fitted model of a neighbouring rank in `source_dir`. One
// component fewer: the one whose removal leaves the lowest training objective (every trial
// kept), each candidate tried -- a weak trial factor alone can miss a component that merely
// splits another; more than one fewer: the weakest (docs/design.md section 5).
void start_from_neighbouring_rank(RnnModel& model, const fs::path& source_dir, const FitTarget& target,
                                  const TrainConfig& config) {
  const fs::path source_checkpoint = source_dir / "checkpoint.pt";
  require(fs::exists(source_checkpoint), source_checkpoint.string(),
          "the rank ladder starts from this fit, which has no checkpoint");
  RnnModel source{nullptr};
  {
    const std::lock_guard<std::mutex> lock(global_generator());
    source = model_from_checkpoint(source_checkpoint);
  }
  const int64_t from = component_count(source);
  if (from != model->config().rank + 1) {
    start_from_neighbouring_rank(model, source);
    return;
  }
  const torch::Tensor all_trials = torch::ones({target.data.size(1)}, torch::kBool);
  std::vector<int64_t> best_kept;
  double best_objective = INFINITY;
  for (int64_t dropped = 0; dropped < from; ++dropped) {
    std::vector<int64_t> kept;
    for (int64_t c = 0; c < from; ++c)
      if (c != dropped) kept.push_back(c);
    start_from_neighbouring_rank(model, source, kept);
    torch::NoGradGuard no_grad;
    const double value = objective(model, target, config, all_trials).item<double>();
    if (value < best_objective || best_kept.empty()) {
      best_objective = value;
      best_kept = kept;
    }
  }
  start_from_neighbouring_rank(model, source, best_kept);
}

// A refit's start: `model` (built for the new trials) from the fitted run's checkpoint, its
// latent network frozen. Returns the names of the parameters the refit fits.
std::vector<std::string> start_from_fitted_run(RnnModel& model, const RefitSource& refit) {
  require(fs::exists(refit.checkpoint), refit.checkpoint.string(), "the refit starts from this checkpoint; missing");
  RnnModel fitted{nullptr};
  {
    const std::lock_guard<std::mutex> lock(global_generator());
    fitted = model_from_checkpoint(refit.checkpoint);
  }
  std::optional<ReadoutRows> rows;
  if (refit.readout) rows = ReadoutRows{refit.readout->first_neuron, refit.readout->neurons};
  return start_refit(model, fitted, rows);
}

}  // namespace

RunRecord execute_run(const Dataset& dataset, const Masks& masks, const ModelConfig& model_config,
                      const TrainConfig& train_config, const fs::path& run_dir, const RunOptions& options) {
  const bool writes = !options.distributed || options.distributed->rank() == 0;
  const bool progress = options.progress && writes;
  validate(model_config, "/model");
  validate(train_config, "/train");
  RunRecord record = planned_record(model_config, train_config);
  if (!options.id.empty()) record.id = options.id;
  if (options.ladder_source) {
    record.start = options.start;
    record.start_from = options.ladder_source->filename().string();
  }
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
  RnnModel model = initial_model(dataset, masks, model_config, train_config, target);
  const fs::path checkpoint = run_dir / "checkpoint.pt";
  const bool resumes = options.resume && fs::exists(checkpoint);
  if (options.ladder_source && !resumes)
    start_from_neighbouring_rank(model, *options.ladder_source, target, train_config);
  // A refit freezes what it does not fit even on a resume (the checkpoint then sets the values).
  std::vector<std::string> refitted;
  if (options.refit) refitted = start_from_fitted_run(model, *options.refit);
  record.n_params = model->n_params();
  // The fit on its device; what follows it (scores, files, export) on the CPU.
  model->to(device);
  const FitTarget fit_target = device.is_cpu() ? target : on_device(target, device);

  // 2. The tau pilot, then the fit, with log.csv and a checkpoint every checkpoint_every
  //    iterations.
  PlateauTermination termination(train_config.plateau_options());
  ProgressPrinter printer(record.id, train_config.iterations);
  FitHooks hooks;
  if (progress) hooks.on_iteration = [&](const IterationRecord& r) { printer.update(r); };
  if (writes)
    hooks.on_checkpoint = [&](const FitProgress& progress) {
      write_file_atomic(run_dir / "log.csv", log_csv(progress.history));
      save_checkpoint(checkpoint, model, &progress.optimizer, progress.history, progress.best);
    };
  std::optional<FitStart> start;
  if (resumes) start = load_checkpoint(checkpoint, model);
  if (options.ladder_source) {
    if (!start) start.emplace();
    start->polish_only = true;
  }
  const PilotOutcome pilot = tau_pilot_for(model, fit_target, model_config, train_config, run_dir, options,
                                           start.has_value() || options.refit.has_value(), writes, record.id);
  const FitResult result =
      fit(model, fit_target, train_config, termination, hooks, start ? &*start : nullptr, options.distributed);
  if (progress) printer.finish();
  model->to(torch::kCPU);
  record.iterations = static_cast<int64_t>(result.history.size());
  record.seconds = result.seconds + pilot.seconds;  // iterations: the fit's own
  record.outcome = result.diverged() ? RunOutcome::diverged(result.divergence()) : RunOutcome::finished();
  if (!writes) return record;

  score_and_write(model, dataset, target, run_dir, options, options.export_model && !result.diverged(), record);
  json details{{"stop_reason", result.stop_text()},
               {"saved_steps", result.saved_steps},
               {"tau", model->tau()},
               {"tau_pilot", pilot.record}};
  if (options.refit)
    details["refit"] = json{{"from", options.refit->checkpoint.string()},
                            {"readout", options.refit->readout ? options.refit->readout->description : "new, fitted"},
                            {"fitted_parameters", refitted}};
  write_run_record(run_dir, record, details);
  return record;
}

}  // namespace ltrnn
