// Experiment files: schema validation, mapping onto the config structs, and the checks a
// schema cannot make; every error names the JSON pointer of the bad field.
#include "experiment/experiment.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "experiment/schema.h"
#include "model/family.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void throw_errors(const std::vector<std::string>& errors, const fs::path& source) {
  if (errors.empty()) return;
  std::string message =
      source.string() + ": " + std::to_string(errors.size()) + " error" + (errors.size() == 1 ? "" : "s") + ":";
  for (const auto& e : errors) message += "\n  " + e;
  throw InputError(message);
}

// The "nwb" dataset (its keys are the schema's; the file relative to the experiment file),
// refused first when its file cannot be read.
NwbImportOptions nwb_dataset(const json& j, const fs::path& source, const std::string& pointer = "/dataset") {
  const fs::path file = fs::absolute(source.parent_path() / j.at("file").get<std::string>());
  if (const auto why = unreadable_file(file))
    throw InputError(pointer + "/nwb/file: " + *why + ": " + shortened_path(file));
  return nwb_options_from_json(j, source.parent_path());
}

std::vector<int64_t> parse_ranks(const json& j) {
  if (j.is_array()) return j.get<std::vector<int64_t>>();
  return parse_rank_text(j.get<std::string>(), "ranks");
}

}  // namespace

Experiment load_experiment(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string() + ": file not found");
  json document;
  try {
    document = json::parse(read_file(path));
  } catch (const json::exception& e) {
    // nlohmann's message carries the line and column: "parse error at line 3, column 5: ...";
    // a number beyond double ("1e400") is an out_of_range error of the parser, not a parse_error.
    std::string what = e.what();
    const auto pos = what.find("parse error");
    throw InputError(path.string() + ": malformed JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  }
  return parse_experiment(document, path);
}

namespace {

// Collects the InputErrors of the checks of one experiment, to report them all at once.
class ErrorList {
 public:
  void add(std::string message) { errors_.push_back(std::move(message)); }
  void check(const std::function<void()>& f) {
    try {
      f();
    } catch (const InputError& error) {
      errors_.push_back(error.what());
    }
  }
  const std::vector<std::string>& all() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// A data file relative to the experiment file, absolute; an error naming `pointer` when it
// cannot be read.
DatasetFile data_file(const json& file_name, const fs::path& source, const std::string& pointer, ErrorList& errors) {
  const fs::path file = source.parent_path() / file_name.get<std::string>();
  if (const auto why = unreadable_file(file)) errors.add(pointer + ": " + *why + ": " + shortened_path(file));
  return DatasetFile{fs::absolute(file)};
}

// "/dataset/sessions" and "/dataset/gap": each session a file or an NWB recording.
DatasetSessions parse_sessions(const json& dataset, const fs::path& source, ErrorList& errors) {
  DatasetSessions spec;
  const json& sessions = dataset.at("sessions");
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const json& session = sessions[i];
    const std::string pointer = "/dataset/sessions/" + std::to_string(i);
    if (session.contains("file") == session.contains("nwb")) {
      errors.add(pointer + ": give exactly one of \"file\" and \"nwb\"");
      continue;
    }
    if (session.contains("file")) {
      spec.sessions.push_back(data_file(session.at("file"), source, pointer + "/file", errors));
    } else {
      errors.check([&] { spec.sessions.push_back(nwb_dataset(session.at("nwb"), source, pointer)); });
    }
  }
  const json gap = dataset.value("gap", json::object());
  if (gap.contains("trials") && gap.contains("days"))
    errors.add("/dataset/gap: give \"trials\" or \"days\" (with \"trials_per_day\"), not both");
  else if (gap.contains("days") != gap.contains("trials_per_day"))
    errors.add("/dataset/gap: \"days\" and \"trials_per_day\" come together (the prior's distance is in trials)");
  else if (gap.contains("days"))
    spec.gap_trials = std::llround(gap.at("days").get<double>() * gap.at("trials_per_day").get<double>());
  else
    spec.gap_trials = gap.value("trials", int64_t{0});
  return spec;
}

// "/dataset": exactly one of a file, an NWB recording, a generator or sessions.
DatasetSpec parse_dataset(const json& dataset, const fs::path& source, ErrorList& errors) {
  const int sources =
      dataset.contains("file") + dataset.contains("generator") + dataset.contains("nwb") + dataset.contains("sessions");
  if (sources != 1) {
    errors.add("/dataset: give exactly one of \"file\", \"nwb\", \"generator\" or \"sessions\"");
    return DatasetFile{};
  }
  if (!dataset.contains("sessions") && dataset.contains("gap"))
    errors.add("/dataset/gap: only sessions have gaps between them");
  if (dataset.contains("sessions")) return parse_sessions(dataset, source, errors);
  if (!dataset.contains("generator") && dataset.contains("parameters"))
    errors.add("/dataset/parameters: only a generator takes parameters");
  DatasetSpec spec = DatasetFile{};
  if (dataset.contains("nwb")) {
    errors.check([&] { spec = nwb_dataset(dataset.at("nwb"), source); });
  } else if (dataset.contains("file")) {
    spec = data_file(dataset.at("file"), source, "/dataset/file", errors);
  } else {
    const json parameters = dataset.value("parameters", json::object());
    if (dataset.at("generator") == "reach")
      errors.check([&] { spec = generator_from_json<ReachConfig>(parameters, "reach"); });
    else
      errors.check([&] { spec = generator_from_json<TeacherConfig>(parameters, "teacher"); });
  }
  return spec;
}

// What the schema's per-field ranges cannot say about a generator's parameters.
void check_generator(const DatasetSpec& dataset, ErrorList& errors) {
  if (const auto* t = std::get_if<TeacherConfig>(&dataset)) {
    if (t->preparatory_bins >= t->bins) errors.add("/dataset/parameters/preparatory_bins: must be < bins");
    if (t->hidden < t->rank) errors.add("/dataset/parameters/hidden: must be >= rank");
    if (t->conditions > 3 * t->trials_per_epoch)
      errors.add("/dataset/parameters/conditions: must be <= the number of trials (3 x trials_per_epoch)");
  }
  if (const auto* r = std::get_if<ReachConfig>(&dataset)) {
    if (r->preparatory_bins >= r->bins) errors.add("/dataset/parameters/preparatory_bins: must be < bins");
    if (r->recorded > r->hidden) errors.add("/dataset/parameters/recorded: must be <= hidden");
  }
}

// Several sessions need the linear readout: each session's neurons are fitted through their
// own rows, and an orthonormal readout would tie every session's rows together.
void check_session_readouts(const Experiment& e, ErrorList& errors) {
  const auto* teacher = std::get_if<TeacherConfig>(&e.dataset);
  if (!std::holds_alternative<DatasetSessions>(e.dataset) && !(teacher && teacher->sessions > 1)) return;
  for (std::size_t i = 0; i < e.runs.size(); ++i) {
    ModelConfig config = model_preset(e.runs[i].kind);
    try {
      overlay_fields(config, e.runs[i].overrides, "/runs/" + std::to_string(i) + "/overrides");
    } catch (const InputError&) {
      continue;  // already reported
    }
    if (config.readout == ReadoutKind::Orthonormal)
      errors.add("/runs/" + std::to_string(i) +
                 "/overrides/readout: orthonormal ties the readout rows of every session together; a dataset of "
                 "several sessions needs \"linear\" (each session's neurons their own rows)");
  }
}

// "/analyses": the CP decomposition of a dataset array and the comparison with its factors.
AnalysesConfig parse_analyses(const json& a, const DatasetSpec& dataset, ErrorList& errors) {
  AnalysesConfig analyses;
  if (a.contains("cp")) {
    const json& cp = a["cp"];
    analyses.cp = true;
    analyses.cp_key = cp.value("key", analyses.cp_key);
    analyses.cp_updates = cp.value("updates", analyses.cp_updates);
    if (cp.contains("ranks")) {
      analyses.cp_ranks = parse_ranks(cp["ranks"]);
      if (analyses.cp_ranks.empty()) errors.add("/analyses/cp/ranks: the range is empty");
    }
    analyses.cp_starts = cp.value("starts", analyses.cp_starts);
    analyses.cp_iterations = cp.value("iterations", analyses.cp_iterations);
  }
  analyses.compare_trial_factors = a.value("compare_trial_factors", false);
  if (analyses.compare_trial_factors && !analyses.cp)
    errors.add("/analyses/compare_trial_factors: needs /analyses/cp (the trial factors to compare with)");
  const auto* file = std::get_if<DatasetFile>(&dataset);
  if (analyses.cp && file && file->path.extension() != ".npz")
    errors.add("/analyses/cp: needs an .npz dataset (or a generator) holding '" + analyses.cp_key + "'");
  if (analyses.cp && std::holds_alternative<TeacherConfig>(dataset) && analyses.cp_key != "true_trial_factors")
    errors.add("/analyses/cp/key: the teacher dataset has no 3-tensor '" + analyses.cp_key + "'");
  return analyses;
}

// One entry of "/runs": a family (its preset), ranks, hidden sizes, overrides; with what a
// schema cannot check (ranks of a family without one, ranks above the hidden size).
RunGroup parse_run_group(const json& entry, const std::string& pointer, const TrainConfig& train, ErrorList& errors) {
  RunGroup group;
  group.kind = parse_enum<ModelKind>(entry.at("model").get<std::string>(), pointer + "/model");
  const ModelConfig preset = model_preset(group.kind);
  if (entry.contains("ranks")) {
    if (!has_rank(group.kind))
      errors.add(pointer + "/ranks: the " + to_string(group.kind) + " family has no rank; remove \"ranks\"");
    group.ranks = parse_ranks(entry["ranks"]);
    if (group.ranks.empty()) errors.add(pointer + "/ranks: the range is empty");
  } else if (has_rank(group.kind)) {
    group.ranks = {preset.rank};
  }
  group.hidden = !entry.contains("hidden")    ? std::vector<int64_t>{preset.hidden}
                 : entry["hidden"].is_array() ? entry["hidden"].get<std::vector<int64_t>>()
                                              : std::vector<int64_t>{entry["hidden"].get<int64_t>()};
  if (entry.contains("overrides")) group.overrides = entry["overrides"];
  if (entry.contains("train")) group.train = entry["train"];
  if (entry.contains("distributed")) group.distributed = entry["distributed"].get<bool>();
  ModelConfig probe = preset;
  errors.check([&] { overlay_fields(probe, group.overrides, pointer + "/overrides"); });
  TrainConfig train_probe = train;
  errors.check([&] { overlay_fields(train_probe, group.train, pointer + "/train"); });
  errors.check([&] { validate(train_probe, pointer + "/train"); });
  for (int64_t h : group.hidden) {
    for (int64_t r : group.ranks)
      if (r > h)
        errors.add(pointer + "/ranks: rank " + std::to_string(r) + " must be <= hidden (" + std::to_string(h) + ")");
    if (probe.input_rank > h)
      errors.add(pointer + "/overrides/input_rank: must be <= hidden (" + std::to_string(h) + ")");
  }
  return group;
}

}  // namespace

Experiment parse_experiment(const json& document, const fs::path& source) {
  // 1. The schema: types, ranges, required and unknown keys, everywhere at once.
  throw_errors(schema_errors(document), source);

  // 2. Map onto the config structs (unknown keys already refused by the schema).
  Experiment e;
  e.source = source;
  e.name = document.at("name").get<std::string>();
  e.description = document.value("description", "");
  ErrorList errors;
  e.dataset = parse_dataset(document.at("dataset"), source, errors);
  if (document.contains("preprocess"))
    errors.check([&] { overlay_fields(e.preprocess, document["preprocess"], "/preprocess"); });
  if (document.contains("mask")) errors.check([&] { overlay_fields(e.mask, document["mask"], "/mask"); });
  if (document.contains("train")) errors.check([&] { overlay_fields(e.train, document["train"], "/train"); });
  errors.check([&] { validate(e.preprocess, "/preprocess"); });
  errors.check([&] { validate(e.mask, "/mask"); });
  if (document.contains("seeds")) e.seeds = document["seeds"].get<std::vector<int64_t>>();
  if (document.contains("outputs")) errors.check([&] { overlay_fields(e.outputs, document["outputs"], "/outputs"); });
  if (document.contains("analyses")) e.analyses = parse_analyses(document["analyses"], e.dataset, errors);

  // 3. Runs: family presets, ranks, hidden sizes; what a schema cannot check.
  const json& runs = document.at("runs");
  for (std::size_t i = 0; i < runs.size(); ++i)
    e.runs.push_back(parse_run_group(runs[i], "/runs/" + std::to_string(i), e.train, errors));
  check_generator(e.dataset, errors);
  check_session_readouts(e, errors);
  throw_errors(errors.all(), source);
  return e;
}

std::vector<int64_t> parse_rank_text(const std::string& text, const std::string& where) {
  // Each rank of a range is a fit: the bound refuses "1-99999999999" before it is stored.
  constexpr int64_t kMaxRanksInRange = 10000;
  std::vector<int64_t> ranks;
  try {
    const std::size_t dash = text.find('-');
    if (dash != std::string::npos && text.find(',') == std::string::npos) {
      const int64_t from = std::stoll(text.substr(0, dash)), to = std::stoll(text.substr(dash + 1));
      require(to < from || to - from < kMaxRanksInRange, where,
              "the range '" + text + "' holds more than " + std::to_string(kMaxRanksInRange) + " ranks");
      for (int64_t i = 0; to >= from && i <= to - from; ++i) ranks.push_back(from + i);  // no overflow at INT64_MAX
    } else {
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');) ranks.push_back(std::stoll(item));
    }
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    throw InputError(where + ": expected ranks as FROM-TO or a comma-separated list, got '" + text + "'");
  }
  for (int64_t rank : ranks) require(rank >= 1, where, "ranks must be >= 1, got " + std::to_string(rank));
  return ranks;
}

}  // namespace ltrnn
