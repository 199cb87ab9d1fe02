// Experiment files (docs/design.md section 7): JSON -> validated Experiment.
// Every error names the JSON pointer of the bad field.
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

namespace ltrnn {

// A data file (.npz or .npy), its path absolute (resolved against the experiment file).
struct DatasetFile {
  std::filesystem::path path;
};

// Where an experiment's data come from: a file, an NWB recording to import (its file
// absolute, like a DatasetFile's), or an in-process generator; exactly one.
using DatasetSpec = std::variant<DatasetFile, NwbImportOptions, TeacherConfig, ReachConfig>;

// One entry of "runs": a family at some ranks and hidden sizes, with overrides.
struct RunGroup {
  ModelKind kind = ModelKind::TensorRank;
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
    v.field("predictions", c.predictions);
    v.field("factors", c.factors);
    v.field("export", c.export_model);
    v.field("report", c.report);
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

// The schema-checked, defaults-filled experiment, or every error found.
// Throws InputError listing each error as "<pointer>: <message>" on its own line.
Experiment load_experiment(const std::filesystem::path& path);
Experiment parse_experiment(const nlohmann::json& document, const std::filesystem::path& source);

// The "nwb" dataset of the resolved experiment (every option, the file absolute).
nlohmann::json nwb_options_json(const NwbImportOptions& options);

// Ranks written "FROM-TO" or "a,b,c"; InputError naming `where` when malformed.
std::vector<int64_t> parse_rank_text(const std::string& text, const std::string& where);

}  // namespace ltrnn
