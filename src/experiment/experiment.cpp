// Experiment files: schema validation, mapping onto the config structs, and the checks a
// schema cannot make; every error names the JSON pointer of the bad field.
#include "experiment/experiment.h"

#include <algorithm>
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

// The "nwb" dataset (its keys are the schema's; the file relative to the experiment file).
NwbImportOptions nwb_options_from_json(const json& j, const fs::path& source) {
  NwbImportOptions o;
  o.file = fs::absolute(source.parent_path() / j.at("file").get<std::string>());
  if (const auto why = unreadable_file(o.file))
    throw InputError("/dataset/nwb/file: " + *why + ": " + shortened_path(o.file));
  o.align = j.at("align").get<std::string>();
  const auto window = j.at("window").get<std::vector<double>>();
  o.window_start = window.at(0);
  o.window_stop = window.at(1);
  o.bin_width = j.at("bin_width").get<double>();
  o.condition = j.value("condition", "");
  o.epoch = j.value("epoch", "");
  // value() returns copies: keep them alive while iterating.
  const json epochs = j.value("epochs", json::array()), trials_where = j.value("trials_where", json::object()),
             units_where = j.value("units_where", json::object());
  for (const json& e : epochs) o.epochs.emplace_back(e.at("name").get<std::string>(), e.at("from").get<double>());
  for (const auto& [key, value] : trials_where.items())
    o.trials_where[key] = value.is_string() ? value.get<std::string>() : value.dump();
  for (const auto& [key, value] : units_where.items())
    o.units_where[key] = value.is_string() ? value.get<std::string>() : value.dump();
  o.min_spikes = j.value("min_spikes", int64_t{0});
  validate(o, "/dataset/nwb/");
  return o;
}

// A generator's parameters: its field list (sim/teacher.h, sim/reach.h) over its defaults.
template <class Config>
Config generator_from_json(const json& j, const std::string& generator) {
  Config c;
  JsonFieldOverlay overlay(j, "/dataset/parameters");
  overlay.set_unknown_key_message("not a parameter of the " + generator + " generator");
  Config::fields(c, overlay);
  overlay.finish();
  return c;
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

Experiment parse_experiment(const json& document, const fs::path& source) {
  // 1. The schema: types, ranges, required and unknown keys, everywhere at once.
  throw_errors(schema_errors(document), source);

  // 2. Map onto the config structs (unknown keys already refused by the schema).
  Experiment e;
  e.source = source;
  e.name = document.at("name").get<std::string>();
  e.description = document.value("description", "");
  std::vector<std::string> errors;
  const auto check = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const InputError& error) {
      errors.push_back(error.what());
    }
  };
  const json& dataset = document.at("dataset");
  const int sources = dataset.contains("file") + dataset.contains("generator") + dataset.contains("nwb");
  if (sources != 1) {
    errors.push_back("/dataset: give exactly one of \"file\", \"nwb\" or \"generator\"");
  } else if (dataset.contains("nwb")) {
    if (dataset.contains("parameters")) errors.push_back("/dataset/parameters: only a generator takes parameters");
    check([&] { e.dataset.nwb = nwb_options_from_json(dataset.at("nwb"), source); });
  } else if (dataset.contains("file")) {
    if (dataset.contains("parameters")) errors.push_back("/dataset/parameters: only a generator takes parameters");
    const fs::path file = source.parent_path() / dataset.at("file").get<std::string>();
    if (const auto why = unreadable_file(file))
      errors.push_back("/dataset/file: " + *why + ": " + shortened_path(file));
    e.dataset.file = fs::absolute(file);
  } else {
    const json parameters = dataset.value("parameters", json::object());
    if (dataset.at("generator") == "reach")
      check([&] { e.dataset.reach = generator_from_json<ReachConfig>(parameters, "reach"); });
    else
      check([&] { e.dataset.teacher = generator_from_json<TeacherConfig>(parameters, "teacher"); });
  }
  if (document.contains("preprocess"))
    check([&] { overlay_fields(e.preprocess, document["preprocess"], "/preprocess"); });
  if (document.contains("mask")) check([&] { overlay_fields(e.mask, document["mask"], "/mask"); });
  if (document.contains("train")) check([&] { overlay_fields(e.train, document["train"], "/train"); });
  check([&] { validate(e.preprocess, "/preprocess"); });
  check([&] { validate(e.mask, "/mask"); });
  if (document.contains("seeds")) e.seeds = document["seeds"].get<std::vector<int64_t>>();
  if (document.contains("outputs")) check([&] { overlay_fields(e.outputs, document["outputs"], "/outputs"); });

  if (document.contains("analyses")) {
    const json& a = document["analyses"];
    if (a.contains("cp")) {
      const json& cp = a["cp"];
      e.analyses.cp = true;
      e.analyses.cp_key = cp.value("key", e.analyses.cp_key);
      e.analyses.cp_updates = cp.value("updates", e.analyses.cp_updates);
      if (cp.contains("ranks")) {
        e.analyses.cp_ranks = parse_ranks(cp["ranks"]);
        if (e.analyses.cp_ranks.empty()) errors.push_back("/analyses/cp/ranks: the range is empty");
      }
      e.analyses.cp_starts = cp.value("starts", e.analyses.cp_starts);
      e.analyses.cp_iterations = cp.value("iterations", e.analyses.cp_iterations);
    }
    e.analyses.compare_trial_factors = a.value("compare_trial_factors", false);
    if (e.analyses.compare_trial_factors && !e.analyses.cp)
      errors.push_back("/analyses/compare_trial_factors: needs /analyses/cp (the trial factors to compare with)");
    if (e.analyses.cp && e.dataset.file && e.dataset.file->extension() != ".npz")
      errors.push_back("/analyses/cp: needs an .npz dataset (or a generator) holding '" + e.analyses.cp_key + "'");
    if (e.analyses.cp && e.dataset.teacher && e.analyses.cp_key != "true_trial_factors")
      errors.push_back("/analyses/cp/key: the teacher dataset has no 3-tensor '" + e.analyses.cp_key + "'");
  }

  // 3. Runs: family presets, ranks, hidden sizes; what a schema cannot check.
  const json& runs = document.at("runs");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string pointer = "/runs/" + std::to_string(i);
    const json& entry = runs[i];
    RunGroup group;
    group.kind = parse_enum<ModelKind>(entry.at("model").get<std::string>(), pointer + "/model");
    const ModelConfig preset = model_preset(group.kind);
    if (entry.contains("ranks")) {
      if (!has_rank(group.kind))
        errors.push_back(pointer + "/ranks: the " + to_string(group.kind) + " family has no rank; remove \"ranks\"");
      group.ranks = parse_ranks(entry["ranks"]);
      if (group.ranks.empty()) errors.push_back(pointer + "/ranks: the range is empty");
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
    check([&] { overlay_fields(probe, group.overrides, pointer + "/overrides"); });
    TrainConfig train_probe = e.train;
    check([&] { overlay_fields(train_probe, group.train, pointer + "/train"); });
    check([&] { validate(train_probe, pointer + "/train"); });
    for (int64_t h : group.hidden) {
      for (int64_t r : group.ranks)
        if (r > h)
          errors.push_back(pointer + "/ranks: rank " + std::to_string(r) + " must be <= hidden (" + std::to_string(h) +
                           ")");
      if (probe.input_rank > h)
        errors.push_back(pointer + "/overrides/input_rank: must be <= hidden (" + std::to_string(h) + ")");
    }
    e.runs.push_back(group);
  }
  if (e.dataset.teacher) {
    // What the schema's per-field ranges cannot say about the teacher's parameters.
    const TeacherConfig& t = *e.dataset.teacher;
    if (t.preparatory_bins >= t.bins) errors.push_back("/dataset/parameters/preparatory_bins: must be < bins");
    if (t.hidden < t.rank) errors.push_back("/dataset/parameters/hidden: must be >= rank");
    if (t.conditions > 3 * t.trials_per_epoch)
      errors.push_back("/dataset/parameters/conditions: must be <= the number of trials (3 x trials_per_epoch)");
  }
  if (e.dataset.reach) {
    const ReachConfig& r = *e.dataset.reach;
    if (r.preparatory_bins >= r.bins) errors.push_back("/dataset/parameters/preparatory_bins: must be < bins");
    if (r.recorded > r.hidden) errors.push_back("/dataset/parameters/recorded: must be <= hidden");
  }
  throw_errors(errors, source);
  return e;
}

// The "nwb" dataset as saved in the resolved experiment.
json nwb_options_json(const NwbImportOptions& o) {
  json epochs = json::array();
  for (const auto& [name, from] : o.epochs) epochs.push_back({{"name", name}, {"from", from}});
  return {{"file", o.file.string()},
          {"align", o.align},
          {"window", {o.window_start, o.window_stop}},
          {"bin_width", o.bin_width},
          {"condition", o.condition},
          {"epoch", o.epoch},
          {"epochs", epochs},
          {"trials_where", o.trials_where},
          {"units_where", o.units_where},
          {"min_spikes", o.min_spikes}};
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
