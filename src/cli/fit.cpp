// `ltrnn fit`: one model on one dataset, into an output directory of the same shape as
// `ltrnn run` writes (an experiment of one run).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/single_run.h"
#include "data/dataset.h"
#include "data/masks.h"
#include "data/preprocess.h"
#include "data/sessions.h"
#include "experiment/plan.h"
#include "experiment/runner.h"
#include "model/family.h"
#include "run/execute.h"
#include "run/results.h"
#include "train/device.h"
#include "train/distributed.h"
#include "util/directory_lock.h"
#include "util/interrupt.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Applies --set KEY=VALUE (numbers and booleans as JSON, anything else as a string).
void apply_settings(ModelConfig& model, const std::vector<std::string>& assignments) {
  for (const std::string& assignment : assignments) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--set " + assignment + ": expected KEY=VALUE");
    const std::string value = assignment.substr(eq + 1);
    json parsed = json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || parsed.is_string()) parsed = value;
    overlay_fields(model, json{{assignment.substr(0, eq), parsed}}, "--set ");
  }
}

// The command as typed, to print how to continue it.
std::string command_line(const std::string& program, int argc, const char* const* argv) {
  std::string line = program;
  for (int i = 0; i < argc; ++i) line += std::string(" ") + argv[i];
  return line;
}

}  // namespace

Experiment single_run_experiment(const fs::path& data_path, const fs::path& out, const ModelConfig& model,
                                 const TrainConfig& train, const MaskConfig& mask,
                                 const PreprocessConfig& preprocess_config) {
  Experiment e;
  e.name = out.filename().string();
  e.description = "One fit (ltrnn fit) of " + data_path.string();
  e.dataset = DatasetFile{fs::absolute(data_path)};
  e.preprocess = preprocess_config;
  e.mask = mask;
  e.train = train;
  e.seeds = {train.seed};
  RunGroup group;
  group.kind = model.kind;
  if (has_rank(model.kind)) group.ranks = {model.rank};
  group.hidden = {model.hidden};
  group.overrides = fields_to_json(model);
  group.overrides.erase("kind");
  e.runs = {group};
  return e;
}

int fit_command(int argc, const char* const* argv) {
  const TrainConfig train_defaults;
  const MaskConfig mask_defaults;
  cxxopts::Options options("ltrnn fit",
                           "Fits one model to a dataset and writes experiment.json, results.json and runs/<id>/ into "
                           "--out.\nModel options default to models/<family>.json.");
  options.add_options()("data", "dataset .npz or .npy (see the README's data format)", cxxopts::value<std::string>())(
      "model", "model family: " + enum_choices<ModelKind>() + " (defaults: models/<family>.json)",
      cxxopts::value<std::string>()->default_value(to_string(kReferenceFamily)))(
      "rank", "rank R (families with a rank)", cxxopts::value<int64_t>())(
      "hidden", "hidden units N (default: the preset's)", cxxopts::value<int64_t>())("out", "output directory",
                                                                                     cxxopts::value<std::string>())(
      "test-fraction", "fraction of entries held out for testing (of trials with --held-out-neurons)",
      cxxopts::value<double>()->default_value(exact_text(mask_defaults.test_fraction)))(
      "validation-fraction",
      "fraction of entries (of trials with --held-out-neurons) held out for validation (stopping, the saved "
      "model); 0: the test set does both",
      cxxopts::value<double>()->default_value(exact_text(mask_defaults.validation_fraction)))(
      "mask-seed", "seed of the cross-validation mask", cxxopts::value<int64_t>()->default_value("0"))(
      "held-out-neurons",
      "co-smoothing: this fraction of the neurons held out on whole test and validation trials (the fractions "
      "above, as fractions of trials) and predicted from the others; 0: block masks",
      cxxopts::value<double>()->default_value("0"))("smooth", "Gaussian smoothing over time, std in bins (0: none)",
                                                    cxxopts::value<double>()->default_value("0"))(
      "zscore", "z-score each neuron")(
      "nan-as-missing", "NaN in float data marks entries that were not observed (never trained on or scored)")(
      "set", "override a model hyperparameter of models/<family>.json, e.g. --set trial_prior=free (repeatable)",
      cxxopts::value<std::vector<std::string>>())(
      "resume", "continue an interrupted fit into the same --out (same options) from its checkpoint")(
      "distributed",
      "one of several processes fitting this model together, each on a contiguous share of the trials, the "
      "gradients summed over them (c10d/Gloo over TCP); they find each other through RANK, WORLD_SIZE, MASTER_ADDR, "
      "MASTER_PORT or srun's SLURM_PROCID, SLURM_NTASKS, SLURM_JOB_NODELIST. Rank 0 writes --out")(
      "distributed-timeout", "seconds to wait for the other processes (to connect, and at each iteration)",
      cxxopts::value<int64_t>()->default_value("120"))("quiet", "no progress output");
  declare_field_options(options, ModelConfig{}, /*with_defaults=*/false, {"kind", "rank", "hidden"});
  declare_field_options(options, train_defaults);
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path data_path = required_string(r, "data");
  const fs::path out = required_string(r, "out");

  // 1. The model: preset, rank and size, options, --set.
  ModelConfig model = model_preset(parse_enum<ModelKind>(r["model"].as<std::string>(), "--model"));
  if (has_rank(model.kind) && !r.count("rank"))
    throw InputError("--rank is required for --model " + to_string(model.kind));
  if (!has_rank(model.kind) && r.count("rank"))
    throw InputError("--rank: the " + to_string(model.kind) + " family has no rank");
  if (r.count("rank")) model.rank = r["rank"].as<int64_t>();
  if (r.count("hidden")) model.hidden = r["hidden"].as<int64_t>();
  clamp_unused_rank(model);
  read_field_options(r, model, /*with_defaults=*/false, {"kind", "rank", "hidden"});
  if (r.count("set")) apply_settings(model, r["set"].as<std::vector<std::string>>());

  // 2. Training, mask, preprocessing.
  TrainConfig train = train_defaults;
  read_field_options(r, train);
  MaskConfig mask_config;
  mask_config.test_fraction = r["test-fraction"].as<double>();
  mask_config.validation_fraction = r["validation-fraction"].as<double>();
  mask_config.seed = r["mask-seed"].as<int64_t>();
  mask_config.held_out_neurons = r["held-out-neurons"].as<double>();
  PreprocessConfig preprocess_config;
  preprocess_config.smooth_sigma = r["smooth"].as<double>();
  preprocess_config.zscore = r.count("zscore") > 0;
  if (r.count("nan-as-missing")) preprocess_config.nan = NanPolicy::Missing;
  validate(model, "fit options");
  validate(train, "fit options");
  resolve_device(train.device, train.tf32, "--device");  // refused before anything is written
  validate(mask_config, "fit options");
  validate(preprocess_config, "fit options");

  // 3. Everything is checked before any output is written (by rank 0 alone when distributed).
  std::optional<DistributedSetup> setup;
  if (r.count("distributed")) {
    setup = distributed_setup();
    const int64_t timeout = r["distributed-timeout"].as<int64_t>();
    if (timeout < 1) throw InputError("--distributed-timeout: must be >= 1 second");
    setup->timeout = std::chrono::seconds(timeout);
  }
  const bool writes = !setup || setup->rank == 0;
  const bool resume = r.count("resume") > 0;
  if (writes && fs::exists(out / "experiment.json") && !resume)
    throw InputError(out.string() + " already holds results; choose another --out, remove it, or pass --resume");
  const Dataset raw = load_dataset(data_path, preprocess_config.nan);
  const Dataset dataset = preprocess(raw, preprocess_config);
  for (const auto& note : dataset.notes) std::cerr << "note: " << note << "\n";
  const Masks masks = make_dataset_masks(dataset, mask_config);
  const Experiment experiment = single_run_experiment(data_path, out, model, train, mask_config, preprocess_config);
  const PlannedRun run = plan_runs(experiment).front();
  if (setup && dataset.n_trials() < setup->world_size)
    throw InputError("--distributed: " + std::to_string(setup->world_size) + " processes for " +
                     std::to_string(dataset.n_trials()) + " trials; at most one process per trial");

  // 4. The fit, and the results files of its one run; one process at a time in `out`.
  //    A distributed fit: every process fits its share; rank 0 alone writes (section 9).
  std::optional<DirectoryLock> lock;
  if (writes) {
    fs::create_directories(out);
    lock.emplace(out);
    if (!lock->takeover_note().empty()) std::cerr << lock->takeover_note() << "\n";
    check_output_directory(experiment, resolved_json(experiment), out, resume);
    write_resolved_experiment(out, experiment);
  }
  install_interrupt_handlers();  // Ctrl-C / SIGTERM: a checkpoint at the next iteration, then exit 130 / 143
  std::unique_ptr<TrialGroup> group;
  if (setup) {
    std::cerr << "distributed fit: rank " << setup->rank << " of " << setup->world_size << " (" << setup->source
              << "), meeting at " << setup->master_address << ":" << setup->port << "\n";
    group = std::make_unique<TrialGroup>(*setup);
    const auto [begin, end] = trial_share(dataset.n_trials(), setup->rank, setup->world_size);
    std::cerr << "distributed fit: rank " << setup->rank << " fits trials " << begin << ".." << end - 1 << "\n";
  }
  RunOptions run_options;
  run_options.progress = r.count("quiet") == 0;
  run_options.resume = resume;
  run_options.distributed = group.get();
  RunRecord record;
  try {
    record = execute_run(dataset, masks, run.model, run.train, out / "runs" / run.id, run_options);
  } catch (const Interrupted& interrupted) {
    if (group) group->report_failure(std::string("interrupted (") + interrupted.what() + ")");
    throw Interrupted(std::string(interrupted.what()) + "; continue with: " + command_line("ltrnn", argc, argv) +
                          (resume ? "" : " --resume"),
                      interrupted.signal_number);
  } catch (const std::exception& error) {
    if (group) group->report_failure(one_line_message(error));
    throw;
  }
  if (!writes) {
    std::cout << record.id << ": rank " << setup->rank << " of " << setup->world_size << " " << record.outcome.text()
              << " after " << record.iterations << " iterations; "
              << group->bytes_summed() / std::max<int64_t>(1, record.iterations)
              << " bytes summed per iteration; rank 0 writes " << out.string() << "\n";
    return record.finished() ? kExitOk : kExitIncomplete;
  }
  if (group)
    std::cout << "distributed fit: " << group->bytes_summed() / std::max<int64_t>(1, record.iterations)
              << " bytes summed per iteration per process\n";
  write_results(out, resolved_json(experiment), {record});
  std::cout << record.id << ": " << record.outcome.text() << " after " << record.iterations << " iterations, "
            << record.seconds << " s; test nMSE " << record.test_nmse << ", test R^2 " << record.test_r2;
  if (std::isfinite(record.test_bits_per_spike)) std::cout << ", test bits/spike " << record.test_bits_per_spike;
  std::cout << "\n"
            << "results in " << (out / "results.json").string() << "\n";
  return record.finished() ? kExitOk : kExitIncomplete;
}

}  // namespace ltrnn
