// `ltrnn refit`: new trials fitted with a fitted model's latent network frozen (docs/design.md
// section 7, "Refit"): only their trial factors, and for new neurons a new readout.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/single_run.h"
#include "data/dataset.h"
#include "data/masks.h"
#include "data/preprocess.h"
#include "data/sessions.h"
#include "experiment/output_directory.h"
#include "experiment/plan.h"
#include "run/execute.h"
#include "run/results.h"
#include "util/directory_lock.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json_file(const fs::path& path) {
  require(fs::exists(path), path.string(), "missing");
  json document = json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  require(!document.is_discarded(), path.string(), "not valid JSON");
  return document;
}

// The fitted run and the experiment output it belongs to.
struct FittedRun {
  fs::path run_dir, experiment_dir;
  json config;  // the run's config.json: {"id", "model", "train"}
};

// The run an experiment's output stands for: the best fit of the rank selected (results.json
// "selected_rank" and "summary"), or the best run when no family has a rank.
std::string selected_run_id(const json& results, const fs::path& file) {
  const json selected = results.value("selected_rank", json::object());
  require(selected.size() <= 1, file.string(),
          "selects a rank for several families; refit one run directory (runs/<id>) instead");
  if (selected.size() == 1) {
    const std::string family = selected.begin().key();
    const int64_t rank = selected.begin().value().get<int64_t>();
    for (const json& row : results.value("summary", json::array()))
      if (row.value("model", "") == family && row.value("rank", int64_t{-1}) == rank && row.contains("best_id"))
        return row["best_id"].get<std::string>();
    throw InputError(file.string() + ": no best run of the selected rank " + std::to_string(rank));
  }
  require(results.contains("best") && results["best"].is_object() && results["best"].contains("id"), file.string(),
          "has no best run to refit (no run finished)");
  return results["best"]["id"].get<std::string>();
}

// RUN_DIR is a run's directory (runs/<id>, with checkpoint.pt) or an experiment's output,
// whose selected fit is refitted.
FittedRun locate_fitted_run(const fs::path& given) {
  FittedRun found;
  if (fs::exists(given / "checkpoint.pt")) {
    found.run_dir = given;
    found.experiment_dir = fs::absolute(given).lexically_normal().parent_path().parent_path();
  } else if (fs::exists(given / "results.json")) {
    found.experiment_dir = given;
    found.run_dir = given / "runs" / selected_run_id(read_json_file(given / "results.json"), given / "results.json");
    require(fs::exists(found.run_dir / "checkpoint.pt"), (found.run_dir / "checkpoint.pt").string(),
            "the selected run's checkpoint is missing");
  } else {
    throw InputError(given.string() +
                     ": neither a run directory (with checkpoint.pt) nor an experiment's output (with results.json)");
  }
  require(fs::exists(found.experiment_dir / "experiment.json"), found.run_dir.string(),
          "refit needs the experiment this run belongs to (experiment.json two folders up), for its conditions, "
          "preprocessing and masks");
  found.config = read_json_file(found.run_dir / "config.json");
  require(found.config.contains("model") && found.config.contains("train"), (found.run_dir / "config.json").string(),
          "expected the keys \"model\" and \"train\"");
  return found;
}

// The new trials on the fitted model's time grid, their condition indices those of the
// fitted dataset's labels (a label it did not have is refused).
void match_fitted_dataset(Dataset& dataset, const Dataset& fitted, const std::string& file) {
  require(dataset.sessions.empty(), file, "holds several sessions; refit one session's file at a time");
  const bool same_grid =
      dataset.n_bins() == fitted.n_bins() && torch::allclose(dataset.times, fitted.times, /*rtol=*/1e-9, /*atol=*/1e-9);
  require(same_grid, file,
          "its time grid (" + std::to_string(dataset.n_bins()) + " bins from " +
              exact_text(dataset.times[0].item<double>()) + " s) is not the fitted model's (" +
              std::to_string(fitted.n_bins()) + " bins from " + exact_text(fitted.times[0].item<double>()) + " s)");
  std::vector<int64_t> index_of_label;
  for (int64_t label : dataset.condition_labels) {
    const auto at = std::find(fitted.condition_labels.begin(), fitted.condition_labels.end(), label);
    require(at != fitted.condition_labels.end(), file + "/condition",
            "condition " + std::to_string(label) + " is not one the model was fitted with");
    index_of_label.push_back(at - fitted.condition_labels.begin());
  }
  dataset.condition = torch::tensor(index_of_label, torch::kInt64).index_select(0, dataset.condition);
  dataset.condition_labels = fitted.condition_labels;
}

// Which rows of the fitted readout the new neurons are: --session's, or all of a one-session
// fit's; none with --new-readout.
std::optional<ReadoutSpan> readout_rows(const Dataset& fitted, const cxxopts::ParseResult& r, int64_t new_neurons,
                                        const std::string& file) {
  if (r.count("new-readout")) {
    require(!r.count("session"), "--session", "names the neurons of a fitted readout; not with --new-readout");
    return std::nullopt;
  }
  ReadoutSpan rows{0, fitted.n_neurons(), "the fitted readout"};
  if (!fitted.sessions.empty()) {
    require(r.count("session") > 0, "--session",
            "the model was fitted on " + std::to_string(fitted.sessions.size()) +
                " sessions: name the one whose neurons these are (its name or number), or fit a new readout "
                "with --new-readout");
    const std::string wanted = r["session"].as<std::string>();
    bool found = false;
    for (std::size_t s = 0; s < fitted.sessions.size() && !found; ++s) {
      const SessionSpan& span = fitted.sessions[s];
      found = span.name == wanted || std::to_string(s + 1) == wanted;
      if (found) rows = {span.first_neuron, span.neurons, "the readout of session " + span.name};
    }
    require(found, "--session", "no fitted session is named or numbered " + wanted);
  } else {
    require(!r.count("session"), "--session", "the model was fitted on one session");
  }
  require(new_neurons == rows.neurons, file,
          std::to_string(new_neurons) + " neurons, but " + rows.description + " has " + std::to_string(rows.neurons) +
              "; for other neurons fit a new readout with --new-readout");
  return rows;
}

}  // namespace

int refit_command(int argc, const char* const* argv) {
  cxxopts::Options options(
      "ltrnn refit",
      "Fits new trials with a fitted model's latent network (recurrent directions, time constant, inputs, initial "
      "states) frozen: only their trial factors, and with --new-readout a readout for new neurons. Writes the "
      "output of `ltrnn fit` into --out, with the held-out scores of the new trials.");
  options.add_options()("run",
                        "a fitted run's directory (runs/<id>) or an experiment's output (the selected rank's best fit)",
                        cxxopts::value<std::string>())(
      "data", "the new trials (.npz or .npy, the README's data format; one session)", cxxopts::value<std::string>())(
      "out", "output directory", cxxopts::value<std::string>())(
      "session", "the fitted session whose neurons the new trials record (its name or number, from 1)",
      cxxopts::value<std::string>())("new-readout", "the neurons are new: fit a readout for them")(
      "mask-seed", "seed of the new trials' cross-validation mask (default: the experiment's)",
      cxxopts::value<int64_t>())("test-fraction", "test fraction (default: the experiment's)",
                                 cxxopts::value<double>())(
      "validation-fraction", "validation fraction (default: the experiment's)", cxxopts::value<double>())(
      "resume", "continue an interrupted refit into the same --out")("quiet", "no progress output");
  declare_field_options(options, TrainConfig{}, /*with_defaults=*/false);
  options.parse_positional({"run"});
  options.positional_help("RUN_DIR");
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const FittedRun fitted = locate_fitted_run(required_string(r, "run"));
  const fs::path data_path = required_string(r, "data");
  const fs::path out = required_string(r, "out");

  // 1. The fitted run's experiment: its dataset's labels, preprocessing, masks and training.
  const fs::path experiment_json = fitted.experiment_dir / "experiment.json";
  const Experiment source = experiment_from_resolved_json(read_json_file(experiment_json), experiment_json.string());
  const fs::path fitted_data = dataset_file(source) ? *dataset_file(source) : fitted.experiment_dir / "dataset.npz";
  const Dataset fitted_dataset = load_dataset(fitted_data, source.preprocess.nan);
  ModelConfig model;
  overlay_fields(model, fitted.config["model"], (fitted.run_dir / "config.json").string() + " /model");
  TrainConfig train = source.train;
  overlay_fields(train, fitted.config["train"], (fitted.run_dir / "config.json").string() + " /train");
  read_field_options(r, train, /*with_defaults=*/false);
  MaskConfig mask = source.mask;
  if (r.count("mask-seed")) mask.seed = r["mask-seed"].as<int64_t>();
  if (r.count("test-fraction")) mask.test_fraction = r["test-fraction"].as<double>();
  if (r.count("validation-fraction")) mask.validation_fraction = r["validation-fraction"].as<double>();
  validate(train, "refit options");
  validate(mask, "refit options");

  // 2. The new trials, preprocessed as the fitted ones were, on the model's grid and labels.
  Dataset dataset = preprocess(load_dataset(data_path, source.preprocess.nan), source.preprocess);
  for (const auto& note : dataset.notes) std::cerr << "note: " << note << "\n";
  match_fitted_dataset(dataset, fitted_dataset, data_path.string());
  RefitSource refit{fitted.run_dir / "checkpoint.pt",
                    readout_rows(fitted_dataset, r, dataset.n_neurons(), data_path.string())};
  const Masks masks = without_unscored_bins(make_dataset_masks(dataset, mask), dataset.times, mask);

  // 3. The output directory, as `ltrnn fit` writes it, and the refit.
  Experiment experiment = single_run_experiment(data_path, out, model, train, mask, source.preprocess);
  experiment.description = "A refit (ltrnn refit) of " + data_path.string() + " with the latent network of " +
                           fs::absolute(fitted.run_dir).lexically_normal().string() + " frozen";
  const json resolved = resolved_json(experiment);
  const bool resume = r.count("resume") > 0;
  if (fs::exists(out / "experiment.json") && !resume)
    throw InputError(out.string() + " already holds results; choose another --out, remove it, or pass --resume");
  fs::create_directories(out);
  const DirectoryLock lock(out);
  check_output_directory(experiment, resolved, out, resume);
  write_npz(out / "masks.npz",
            {{"train", to_npy(masks.train)}, {"validation", to_npy(masks.validation)}, {"test", to_npy(masks.test)}});
  write_resolved_experiment(out, experiment);
  install_interrupt_handlers();
  RunOptions run_options;
  run_options.progress = r.count("quiet") == 0;
  run_options.resume = resume;
  run_options.refit = refit;
  const PlannedRun run = plan_runs(experiment).front();
  const RunRecord record = execute_run(dataset, masks, model, train, out / "runs" / run.id, run_options);
  const json refit_record{{"from", fs::absolute(fitted.run_dir).lexically_normal().string()},
                          {"readout", refit.readout ? json(refit.readout->description) : json("new, fitted")}};
  write_results(out, resolved, {record}, json{{"refit", refit_record}});
  std::cout << record.id << " refitted from " << fitted.run_dir.string() << ": " << record.outcome.text() << " after "
            << record.iterations << " iterations, " << record.seconds << " s; test nMSE " << record.test_nmse
            << ", test R^2 " << record.test_r2;
  if (std::isfinite(record.test_bits_per_spike)) std::cout << ", test bits/spike " << record.test_bits_per_spike;
  std::cout << "\nresults in " << (out / "results.json").string() << "\n";
  return record.finished() ? kExitOk : kExitIncomplete;
}

}  // namespace ltrnn
