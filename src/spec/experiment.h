// An experiment as data (docs/design.md section 7): what an experiment file declares, and
// what an output directory's experiment.json records of it. Below report/, which reads the
// typed experiment of a directory rather than its JSON; experiment/ parses the files.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "data/masks.h"
#include "data/nwb.h"
#include "data/preprocess.h"
#include "model/config.h"
#include "sim/reach.h"
#include "sim/teacher.h"
#include "train/config.h"
#include "util/json_fields.h"

namespace ltrnn {

// A data file (.npz or .npy), its path absolute (resolved against the experiment file).
struct DatasetFile {
  std::filesystem::path path;
};

// One recording session of several: a data file or an NWB recording to import.
using SessionSource = std::variant<DatasetFile, NwbImportOptions>;

// Several recording sessions fitted as one (docs/design.md section 7, "Sessions"): each
// preprocessed alone, then laid side by side (data/sessions.h); each session's trial ids
// continue the previous session's after `gap_trials` unrecorded trials (the trial prior's
// distance).
struct DatasetSessions {
  std::vector<SessionSource> sessions;
  int64_t gap_trials = 0;
};

// Where an experiment's data come from: a file, an NWB recording to import (its file
// absolute, like a DatasetFile's), an in-process generator, or several sessions; exactly one.
using DatasetSpec = std::variant<DatasetFile, NwbImportOptions, TeacherConfig, ReachConfig, DatasetSessions>;

// One entry of "runs": a family at some ranks and hidden sizes, with overrides.
struct RunGroup {
  ModelKind kind = kReferenceFamily;
  std::vector<int64_t> ranks;  // empty for families without a rank
  std::vector<int64_t> hidden;
  nlohmann::json overrides = nlohmann::json::object();  // model fields
  nlohmann::json train = nlohmann::json::object();      // training fields
  // Fitted by all processes of `ltrnn run --distributed` together (docs/design.md section 9).
  bool distributed = false;
};

struct OutputsConfig {
  bool predictions = true;   // runs/<id>/predictions.npy
  bool factors = true;       // runs/<id>/factors.npz
  bool export_model = true;  // runs/<id>/model.pt (TorchScript)
  bool report = true;        // report.html after the fits

  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("predictions", c.predictions, "write runs/<id>/predictions.npy");
    v.field("factors", c.factors, "write runs/<id>/factors.npz");
    v.field("export", c.export_model, "write runs/<id>/model.pt, the fitted model as TorchScript");
    v.field("report", c.report,
            "write report.html, the experiment's charts in one self-contained page, after the fits");
  }
};

// Analyses after the fits: a CP decomposition of a dataset array (the true weights of the
// reach generator), and the comparison of fitted trial factors with its trial factors.
struct AnalysesConfig {
  bool cp = false;
  std::string cp_key = "weights";
  bool cp_updates = true;  // decompose X(k) - X(first)
  std::vector<int64_t> cp_ranks{1, 2, 3, 4, 5, 6};
  int64_t cp_starts = 3;
  int64_t cp_iterations = 500;
  bool compare_trial_factors = false;
};

struct Experiment {
  std::string name;
  std::string description;       // free text (shown in the report)
  std::filesystem::path source;  // the experiment file
  DatasetSpec dataset;
  PreprocessConfig preprocess;
  MaskConfig mask;
  TrainConfig train;
  std::vector<int64_t> seeds{0};
  std::vector<RunGroup> runs;
  OutputsConfig outputs;
  AnalysesConfig analyses;
};

// The data file of an experiment whose dataset is a file, else null.
inline const std::filesystem::path* dataset_file(const Experiment& e) {
  const auto* file = std::get_if<DatasetFile>(&e.dataset);
  return file ? &file->path : nullptr;
}

// The "nwb" dataset's options from its JSON (the schema's keys), its file resolved against
// `base` (absolute files stay as they are); InputError naming /dataset/nwb/... when a value is
// out of range. Whether the file can be read is the caller's to check.
NwbImportOptions nwb_options_from_json(const nlohmann::json& j, const std::filesystem::path& base);
// The "nwb" dataset as recorded (every option, the file absolute).
nlohmann::json nwb_options_json(const NwbImportOptions& options);

// A generator's parameters: its field list (sim/teacher.h, sim/reach.h) over its defaults;
// InputError naming /dataset/parameters/<key> for a key that is not one of them.
template <class Config>
Config generator_from_json(const nlohmann::json& j, const std::string& generator) {
  Config c;
  JsonFieldOverlay overlay(j, "/dataset/parameters");
  overlay.set_unknown_key_message("not a parameter of the " + generator + " generator");
  Config::fields(c, overlay);
  overlay.finish();
  return c;
}

// experiment.json's "dataset" and "analyses" (the writer, experiment/plan.h resolved_json,
// puts them together with the rest).
nlohmann::json dataset_json(const DatasetSpec& dataset);
nlohmann::json analyses_json(const AnalysesConfig& analyses);

// The experiment an output directory's experiment.json records: its name, description,
// source, dataset, preprocessing, mask, training defaults, seeds, outputs and analyses (the
// run groups are not recorded: its "plan" lists the runs). A setting the file lacks (one
// written before it existed) reads as its default. InputError naming `where` and the key
// when a part is malformed.
Experiment experiment_from_resolved_json(const nlohmann::json& resolved, const std::string& where);

}  // namespace ltrnn
