// The experiment as data: the dataset's and analyses' JSON, and experiment.json read back.
#include "spec/experiment.h"

#include "util/errors.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

NwbImportOptions nwb_options_from_json(const json& j, const fs::path& base) {
  NwbImportOptions o;
  o.file = fs::absolute(base / j.at("file").get<std::string>());
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

json dataset_json(const DatasetSpec& dataset) {
  json j;
  if (const auto* file = std::get_if<DatasetFile>(&dataset)) j["file"] = file->path.string();
  if (const auto* nwb = std::get_if<NwbImportOptions>(&dataset)) j["nwb"] = nwb_options_json(*nwb);
  if (const auto* sessions = std::get_if<DatasetSessions>(&dataset)) {
    j["sessions"] = json::array();
    for (const SessionSource& session : sessions->sessions) {
      if (const auto* file = std::get_if<DatasetFile>(&session))
        j["sessions"].push_back({{"file", file->path.string()}});
      if (const auto* nwb = std::get_if<NwbImportOptions>(&session))
        j["sessions"].push_back({{"nwb", nwb_options_json(*nwb)}});
    }
    j["gap"] = {{"trials", sessions->gap_trials}};
  }
  if (const auto* teacher = std::get_if<TeacherConfig>(&dataset)) {
    j["generator"] = "teacher";
    j["parameters"] = fields_to_json(*teacher);
  }
  if (const auto* reach = std::get_if<ReachConfig>(&dataset)) {
    j["generator"] = "reach";
    j["parameters"] = fields_to_json(*reach);
  }
  return j;
}

json analyses_json(const AnalysesConfig& a) {
  json analyses = json::object();
  if (a.cp)
    analyses["cp"] = {{"key", a.cp_key},
                      {"updates", a.cp_updates},
                      {"ranks", a.cp_ranks},
                      {"starts", a.cp_starts},
                      {"iterations", a.cp_iterations}};
  analyses["compare_trial_factors"] = a.compare_trial_factors;
  return analyses;
}

namespace {

DatasetSpec dataset_from_json(const json& j) {
  if (j.contains("sessions")) {
    DatasetSessions sessions;
    for (const json& session : j.at("sessions")) {
      if (session.contains("file"))
        sessions.sessions.push_back(DatasetFile{session.at("file").get<std::string>()});
      else
        sessions.sessions.push_back(nwb_options_from_json(session.at("nwb"), fs::path()));
    }
    sessions.gap_trials = j.at("gap").at("trials").get<int64_t>();
    return sessions;
  }
  if (j.contains("file")) return DatasetFile{j.at("file").get<std::string>()};
  if (j.contains("nwb")) return nwb_options_from_json(j.at("nwb"), fs::path());
  const std::string generator = j.at("generator").get<std::string>();
  const json parameters = j.value("parameters", json::object());
  if (generator == "teacher") return generator_from_json<TeacherConfig>(parameters, "teacher");
  if (generator == "reach") return generator_from_json<ReachConfig>(parameters, "reach");
  throw InputError("/dataset/generator: unknown generator '" + generator + "'");
}

AnalysesConfig analyses_from_json(const json& j) {
  AnalysesConfig a;
  if (j.contains("cp")) {
    const json& cp = j.at("cp");
    a.cp = true;
    a.cp_key = cp.value("key", a.cp_key);
    a.cp_updates = cp.value("updates", a.cp_updates);
    a.cp_ranks = cp.value("ranks", a.cp_ranks);
    a.cp_starts = cp.value("starts", a.cp_starts);
    a.cp_iterations = cp.value("iterations", a.cp_iterations);
  }
  a.compare_trial_factors = j.value("compare_trial_factors", false);
  return a;
}

// A section of settings over its defaults: keys it lacks keep them.
template <class Config>
void read_section(Config& config, const json& resolved, const char* key) {
  if (resolved.contains(key)) overlay_fields(config, resolved.at(key), std::string("/") + key);
}

}  // namespace

Experiment experiment_from_resolved_json(const json& resolved, const std::string& where) {
  try {
    Experiment e;
    e.name = resolved.at("name").get<std::string>();
    e.description = resolved.value("description", "");
    e.source = resolved.value("source", "");
    e.dataset = dataset_from_json(resolved.at("dataset"));
    read_section(e.preprocess, resolved, "preprocess");
    read_section(e.mask, resolved, "mask");
    read_section(e.train, resolved, "train");
    read_section(e.outputs, resolved, "outputs");
    e.seeds = resolved.value("seeds", e.seeds);
    if (resolved.contains("analyses")) e.analyses = analyses_from_json(resolved.at("analyses"));
    return e;
  } catch (const json::exception& error) {
    throw InputError(where + ": " + error.what());
  } catch (const InputError& error) {
    throw InputError(where + ": " + error.what());
  }
}

}  // namespace ltrnn
