// Experiment files (DESIGN section 3): JSON -> validated Experiment -> plan of runs.
// Every error names the JSON pointer of the bad field.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/config.h"
#include "sim/reach.h"
#include "sim/teacher.h"

namespace ltrnn {

// A file, or an in-process generator (exactly one).
struct DatasetSpec {
  std::optional<std::filesystem::path> file;  // absolute (resolved against the experiment file)
  std::optional<TeacherConfig> teacher;
  std::optional<ReachConfig> reach;
};

// One entry of "runs": a family at some ranks and hidden sizes, with overrides.
struct RunGroup {
  ModelKind kind = ModelKind::TensorRank;
  std::vector<int64_t> ranks;   // empty for families without a rank
  std::vector<int64_t> hidden;
  nlohmann::json overrides = nlohmann::json::object();  // model fields
  nlohmann::json train = nlohmann::json::object();      // training fields
};

struct OutputsConfig {
  bool predictions = true;  // runs/<id>/predictions.npy
  bool factors = true;      // runs/<id>/factors.npz
  bool export_model = true; // runs/<id>/model.pt (TorchScript)
  bool report = true;       // report.html after the fits
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

// One fit of the plan: family x rank x hidden size x seed.
struct PlannedRun {
  std::string id;
  ModelConfig model;
  TrainConfig train;
};

// The schema-checked, defaults-filled experiment, or every error found.
// Throws InputError listing each error as "<pointer>: <message>" on its own line.
Experiment load_experiment(const std::filesystem::path& path);
Experiment parse_experiment(const nlohmann::json& document, const std::filesystem::path& source);

// Errors of `document` against experiments/schema.json, as "<pointer>: <message>".
std::vector<std::string> schema_errors(const nlohmann::json& document);

// The preset of a family (models/<family>.json) applied to the built-in defaults.
ModelConfig model_preset(ModelKind kind);

// Ranks written "FROM-TO" or "a,b,c"; InputError naming `where` when malformed.
std::vector<int64_t> parse_rank_text(const std::string& text, const std::string& where);

// Expands the runs: group order, then rank, hidden size, seed. Ids are stable.
std::vector<PlannedRun> plan_runs(const Experiment& experiment);

// The fully resolved experiment (every default filled in), as saved to experiment.json.
nlohmann::json resolved_json(const Experiment& experiment);

}  // namespace ltrnn
