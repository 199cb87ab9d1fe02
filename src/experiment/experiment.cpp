// Experiment files: parsing, schema validation (valijson), semantic checks, planning.
#include "experiment/experiment.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "experiment/pipeline.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/resources.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// valijson reports a path as ["<root>", "[runs]", "[1]", "[rank]"]; make it "/runs/1/rank".
std::string pointer_of(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"') token = token.substr(1, token.size() - 2);
    pointer += "/" + token;
  }
  return pointer.empty() ? "/" : pointer;
}

const valijson::Schema& experiment_schema() {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser;
    const json document = json::parse(embedded_resource("experiments/schema.json"));
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

void throw_errors(const std::vector<std::string>& errors, const fs::path& source) {
  if (errors.empty()) return;
  std::string message = source.string() + ": " + std::to_string(errors.size()) + " error" +
                        (errors.size() == 1 ? "" : "s") + ":";
  for (const auto& e : errors) message += "\n  " + e;
  throw InputError(message);
}

// A generator's parameters as JSON key -> field: one table per generator, read from the
// experiment file and written to the resolved experiment.
struct GeneratorFields {
  std::map<std::string, int64_t*> integers;
  std::map<std::string, double*> numbers;
};

GeneratorFields fields_of(TeacherConfig& c) {
  return {{{"rank", &c.rank}, {"hidden", &c.hidden}, {"neurons", &c.neurons}, {"conditions", &c.conditions},
           {"trials_per_epoch", &c.trials_per_epoch}, {"bins", &c.bins}, {"preparatory_bins", &c.preparatory_bins},
           {"seed", &c.seed}},
          {{"bin_width", &c.bin_width}, {"tau", &c.tau}, {"noise", &c.noise}}};
}

GeneratorFields fields_of(ReachConfig& c) {
  return {{{"hidden", &c.hidden}, {"recorded", &c.recorded}, {"trials_per_epoch", &c.trials_per_epoch},
           {"bins", &c.bins}, {"preparatory_bins", &c.preparatory_bins}, {"substeps", &c.substeps},
           {"pretrain_iterations", &c.pretrain_iterations}, {"seed", &c.seed}},
          {{"bin_width", &c.bin_width}, {"tau", &c.tau}, {"movement_time", &c.movement_time}, {"curl", &c.curl},
           {"learning_rate", &c.learning_rate}, {"pretrain_learning_rate", &c.pretrain_learning_rate},
           {"noise", &c.noise}}};
}

template <class Config>
Config generator_from_json(const json& j, const std::string& pointer, const std::string& generator) {
  Config c;
  const GeneratorFields fields = fields_of(c);
  for (const auto& item : j.items()) {
    if (auto it = fields.integers.find(item.key()); it != fields.integers.end()) *it->second = item.value().get<int64_t>();
    else if (auto nt = fields.numbers.find(item.key()); nt != fields.numbers.end()) *nt->second = item.value().get<double>();
    else throw InputError(pointer + "/" + item.key() + ": not a parameter of the " + generator + " generator");
  }
  return c;
}

template <class Config>
json generator_json(Config c) {
  json j = json::object();
  const GeneratorFields fields = fields_of(c);
  for (const auto& [key, field] : fields.integers) j[key] = *field;
  for (const auto& [key, field] : fields.numbers) j[key] = *field;
  return j;
}

std::vector<int64_t> parse_ranks(const json& j) {
  if (j.is_array()) return j.get<std::vector<int64_t>>();
  return parse_rank_text(j.get<std::string>(), "ranks");
}

}  // namespace

namespace {

// The schema node that describes `pointer`, following properties and items; or null.
const json* schema_node(const json& schema, const std::string& pointer) {
  const json* node = &schema;
  std::stringstream tokens(pointer);
  std::string token;
  while (std::getline(tokens, token, '/')) {
    if (token.empty()) continue;
    if (node->contains("properties") && (*node)["properties"].contains(token)) node = &(*node)["properties"][token];
    else if (node->contains("items")) node = &(*node)["items"];
    else return nullptr;
  }
  return node;
}

std::string type_name(const json& value) {
  return value.is_number_integer() ? "integer" : value.is_number() ? "number" : value.type_name();
}

std::string join(const json& values, const std::string& separator) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : separator) + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// Rewrites one valijson error as "<pointer>: <what is expected>"; empty for the generic
// "failed to validate the parent" messages that valijson adds at every level.
std::string readable_error(const std::string& pointer, const std::string& description, const json& document,
                           const json& schema) {
  for (const char* wrapper : {"Failed to validate against schema associated", "Failed to validate item #",
                              "Failed to validate against child schema", "Failed to validate against any child"})
    if (description.rfind(wrapper, 0) == 0) return "";
  const json* node = schema_node(schema, pointer);
  const json::json_pointer where(pointer == "/" ? "" : pointer);
  const json* value = document.contains(where) ? &document.at(where) : nullptr;
  const auto quoted_name = [&] {
    const auto end = description.rfind('\'');
    const auto begin = description.rfind('\'', end - 1);
    return description.substr(begin + 1, end - begin - 1);
  };
  const std::string base = pointer == "/" ? "" : pointer;
  if (description.rfind("Object contains a property that could not be validated", 0) == 0)
    return base + "/" + quoted_name() + ": unknown key";
  if (description.rfind("Missing required property", 0) == 0) return base + "/" + quoted_name() + ": required";
  if (description.rfind("Value type not permitted", 0) == 0 && node && node->contains("type"))
    return pointer + ": must be " + ((*node)["type"].is_array() ? join((*node)["type"], " or ") : (*node)["type"].get<std::string>()) +
           (value ? ", got " + type_name(*value) : "");
  if (description.rfind("Failed to match against any enum values", 0) == 0 && node && node->contains("enum"))
    return pointer + ": must be one of " + join((*node)["enum"], ", ") + (value ? ", got " + value->dump() : "");
  if (description.rfind("Failed to match regex", 0) == 0 && node && node->contains("pattern"))
    return pointer + ": must match the pattern " + (*node)["pattern"].get<std::string>() +
           (value ? ", got " + value->dump() : "");
  static const std::vector<std::pair<std::string, std::string>> bounds{
      {"Expected number greater than or equal to ", ">= "}, {"Expected number greater than ", "> "},
      {"Expected number less than or equal to ", "<= "}, {"Expected number less than ", "< "}};
  for (const auto& [prefix, op] : bounds)
    if (description.rfind(prefix, 0) == 0) {
      std::ostringstream bound;
      bound << std::stod(description.substr(prefix.size()));
      return pointer + ": must be " + op + bound.str() + (value ? ", got " + value->dump() : "");
    }
  return pointer + ": " + description;
}

}  // namespace

std::vector<std::string> schema_errors(const json& document) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  validator.validate(experiment_schema(), adapter, &results);
  static const json schema = json::parse(embedded_resource("experiments/schema.json"));
  std::vector<std::string> errors;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    const std::string line = readable_error(pointer_of(error.context), error.description, document, schema);
    if (!line.empty() && std::find(errors.begin(), errors.end(), line) == errors.end()) errors.push_back(line);
  }
  return errors;
}

ModelConfig model_preset(ModelKind kind) {
  ModelConfig config;
  const std::string path = "models/" + to_string(kind) + ".json";
  update_from_json(config, json::parse(embedded_resource(path)).at("defaults"), path + "#/defaults");
  config.kind = kind;
  return config;
}

Experiment load_experiment(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string() + ": file not found");
  json document;
  try {
    document = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    // nlohmann's message carries the line and column: "parse error at line 3, column 5: ..."
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
  if (dataset.contains("file") == dataset.contains("generator")) {
    errors.push_back("/dataset: give exactly one of \"file\" or \"generator\"");
  } else if (dataset.contains("file")) {
    if (dataset.contains("parameters")) errors.push_back("/dataset/parameters: only a generator takes parameters");
    const fs::path file = source.parent_path() / dataset.at("file").get<std::string>();
    if (!fs::exists(file)) errors.push_back("/dataset/file: file not found: " + file.string());
    e.dataset.file = fs::absolute(file);
  } else {
    const json parameters = dataset.value("parameters", json::object());
    if (dataset.at("generator") == "reach")
      check([&] { e.dataset.reach = generator_from_json<ReachConfig>(parameters, "/dataset/parameters", "reach"); });
    else
      check([&] { e.dataset.teacher = generator_from_json<TeacherConfig>(parameters, "/dataset/parameters", "teacher"); });
  }
  if (document.contains("preprocess")) check([&] { update_from_json(e.preprocess, document["preprocess"], "/preprocess"); });
  if (document.contains("mask")) check([&] { update_from_json(e.mask, document["mask"], "/mask"); });
  if (document.contains("train")) check([&] { update_from_json(e.train, document["train"], "/train"); });
  check([&] { validate(e.preprocess, "/preprocess"); });
  check([&] { validate(e.mask, "/mask"); });
  if (document.contains("seeds")) e.seeds = document["seeds"].get<std::vector<int64_t>>();
  if (document.contains("outputs")) {
    e.outputs.predictions = document["outputs"].value("predictions", true);
    e.outputs.factors = document["outputs"].value("factors", true);
    e.outputs.export_model = document["outputs"].value("export", true);
    e.outputs.report = document["outputs"].value("report", true);
  }

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
    group.kind = parse_model_kind(entry.at("model").get<std::string>(), pointer + "/model");
    const ModelConfig preset = model_preset(group.kind);
    if (entry.contains("ranks")) {
      if (!has_rank(group.kind))
        errors.push_back(pointer + "/ranks: the " + to_string(group.kind) + " family has no rank; remove \"ranks\"");
      group.ranks = parse_ranks(entry["ranks"]);
      if (group.ranks.empty()) errors.push_back(pointer + "/ranks: the range is empty");
    } else if (has_rank(group.kind)) {
      group.ranks = {preset.rank};
    }
    group.hidden = !entry.contains("hidden")       ? std::vector<int64_t>{preset.hidden}
                   : entry["hidden"].is_array() ? entry["hidden"].get<std::vector<int64_t>>()
                                                : std::vector<int64_t>{entry["hidden"].get<int64_t>()};
    if (entry.contains("overrides")) group.overrides = entry["overrides"];
    if (entry.contains("train")) group.train = entry["train"];
    ModelConfig probe = preset;
    check([&] { update_from_json(probe, group.overrides, pointer + "/overrides"); });
    TrainConfig train_probe = e.train;
    check([&] { update_from_json(train_probe, group.train, pointer + "/train"); });
    check([&] { validate(train_probe, pointer + "/train"); });
    for (int64_t h : group.hidden) {
      for (int64_t r : group.ranks)
        if (r > h)
          errors.push_back(pointer + "/ranks: rank " + std::to_string(r) + " must be <= hidden (" + std::to_string(h) + ")");
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

std::vector<int64_t> parse_rank_text(const std::string& text, const std::string& where) {
  std::vector<int64_t> ranks;
  try {
    const std::size_t dash = text.find('-');
    if (dash != std::string::npos && text.find(',') == std::string::npos) {
      const int64_t from = std::stoll(text.substr(0, dash)), to = std::stoll(text.substr(dash + 1));
      for (int64_t r = from; r <= to; ++r) ranks.push_back(r);
    } else {
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');) ranks.push_back(std::stoll(item));
    }
  } catch (const std::exception&) {
    throw InputError(where + ": expected ranks as FROM-TO or a comma-separated list, got '" + text + "'");
  }
  return ranks;
}

std::vector<PlannedRun> plan_runs(const Experiment& e) {
  std::vector<PlannedRun> plan;
  std::set<std::string> ids;
  for (std::size_t g = 0; g < e.runs.size(); ++g) {
    const RunGroup& group = e.runs[g];
    const std::vector<int64_t> ranks = group.ranks.empty() ? std::vector<int64_t>{0} : group.ranks;
    for (int64_t rank : ranks)
      for (int64_t hidden : group.hidden)
        for (int64_t seed : e.seeds) {
          PlannedRun run;
          run.model = model_preset(group.kind);
          update_from_json(run.model, group.overrides, "/runs/" + std::to_string(g) + "/overrides");
          if (rank > 0) run.model.rank = rank;
          run.model.hidden = hidden;
          if (!has_rank(group.kind)) run.model.rank = std::min(run.model.rank, hidden);
          run.train = e.train;
          update_from_json(run.train, group.train, "/runs/" + std::to_string(g) + "/train");
          run.train.seed = seed;
          run.id = run_id(run.model, run.train);
          // Two groups may plan the same family and size: keep ids unique and stable.
          if (ids.count(run.id)) run.id += "-g" + std::to_string(g);
          ids.insert(run.id);
          plan.push_back(run);
        }
  }
  return plan;
}

json resolved_json(const Experiment& e) {
  json dataset;
  if (e.dataset.file) dataset["file"] = e.dataset.file->string();
  if (e.dataset.teacher) {
    dataset["generator"] = "teacher";
    dataset["parameters"] = generator_json(*e.dataset.teacher);
  }
  if (e.dataset.reach) {
    dataset["generator"] = "reach";
    dataset["parameters"] = generator_json(*e.dataset.reach);
  }
  json analyses = json::object();
  if (e.analyses.cp)
    analyses["cp"] = {{"key", e.analyses.cp_key}, {"updates", e.analyses.cp_updates}, {"ranks", e.analyses.cp_ranks},
                      {"starts", e.analyses.cp_starts}, {"iterations", e.analyses.cp_iterations}};
  analyses["compare_trial_factors"] = e.analyses.compare_trial_factors;
  json runs = json::array();
  for (const PlannedRun& run : plan_runs(e)) runs.push_back({{"id", run.id}, {"model", run.model}, {"train", run.train}});
  json resolved{{"name", e.name},
          {"source", e.source.string()},
          {"dataset", dataset},
          {"preprocess", e.preprocess},
          {"mask", e.mask},
          {"train", e.train},
          {"seeds", e.seeds},
          {"outputs", {{"predictions", e.outputs.predictions}, {"factors", e.outputs.factors}, {"export", e.outputs.export_model},
                       {"report", e.outputs.report}}},
          {"plan", runs}};
  // Only experiments with analyses carry the key: an experiment without them resolves as
  // before analyses existed, so their output directories still resume.
  if (e.analyses.cp || e.analyses.compare_trial_factors) resolved["analyses"] = analyses;
  if (!e.description.empty()) resolved["description"] = e.description;
  return resolved;
}

}  // namespace ltrnn
