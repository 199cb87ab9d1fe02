// The output directory: the refusal to mix experiments, the locks, resumable runs.
#include "experiment/output_directory.h"

#include "sim/teacher.h"
#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// An experiment.json written before a setting existed lacks its key: it was fitted with the
// setting's default, so the key is filled in with it before the comparison.
void fill_missing_defaults(json& document, const char* section, const json& defaults) {
  if (!document.contains(section) || !document[section].is_object()) return;
  for (const auto& [key, value] : defaults.items())
    if (!document[section].contains(key)) document[section][key] = value;
}

// The same for a teacher generator's parameters (the panel's variants, docs/recovery.md,
// came after outputs were written without them).
void fill_missing_teacher_defaults(json& document) {
  if (!document.contains("dataset") || !document["dataset"].is_object()) return;
  json& dataset = document["dataset"];
  if (dataset.value("generator", "") != "teacher") return;
  fill_missing_defaults(dataset, "parameters", fields_to_json(TeacherConfig{}));
}

}  // namespace

void check_output_directory(const Experiment& e, const json& resolved, const fs::path& out_dir, bool resume) {
  const fs::path saved = out_dir / "experiment.json";
  if (!fs::exists(saved)) return;
  if (!resume)
    throw InputError(out_dir.string() +
                     " already holds an experiment's results; pass --resume to continue it "
                     "or --out to write elsewhere");
  json previous;
  try {
    previous = json::parse(read_file(saved));
  } catch (const json::exception& error) {
    throw InputError(saved.string() + ": unreadable (" + error.what() + "); use another --out");
  }
  json current = resolved;
  fill_missing_defaults(previous, "preprocess", fields_to_json(PreprocessConfig{}));
  fill_missing_defaults(previous, "mask", fields_to_json(MaskConfig{}));
  fill_missing_defaults(previous, "outputs", fields_to_json(OutputsConfig{}));
  fill_missing_teacher_defaults(previous);
  // What does not change the numbers may differ: where the file lives, its description,
  // whether a report is written, and the device (its numbers agree to rounding).
  for (json* document : {&previous, &current}) {
    document->erase("source");
    document->erase("description");
    if (document->contains("outputs")) (*document)["outputs"].erase("report");
    if (document->contains("train") && (*document)["train"].is_object()) (*document)["train"].erase("device");
  }
  if (previous != current)
    throw InputError(out_dir.string() + "/experiment.json differs from " + e.source.string() +
                     ": the experiment changed since it was started; use another --out");
}

void open_output_directory(const RunnerOptions& options, DirectoryLocks& locks, std::ostream& out) {
  const bool existed = fs::exists(options.out_dir);
  try {
    fs::create_directories(options.out_dir);
  } catch (const fs::filesystem_error& error) {
    throw write_error(options.out_dir, error.code().value());
  }
  try {
    locks.directory.emplace(options.out_dir, options.shard ? LockMode::Shared : LockMode::Exclusive);
    if (options.shard)
      locks.shard.emplace(
          options.out_dir, LockMode::Exclusive,
          ".shard-" + std::to_string(options.shard->index) + "-of-" + std::to_string(options.shard->count) + ".lock");
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    if (!existed) fs::remove_all(options.out_dir);
    throw;
  }
  if (!locks.directory->takeover_note().empty()) out << locks.directory->takeover_note() << "\n";
  if (!options.shard) {
    if (const int removed = remove_temporary_files(options.out_dir))
      out << "note: removed " << removed << " temporary file(s) of writes a killed process did not finish\n";
  }
}

std::optional<RunRecord> final_record(const fs::path& run_dir, bool resume) {
  if (!resume) return std::nullopt;
  try {
    std::optional<RunRecord> record = read_run_record(run_dir);
    if (record && record->outcome.status == RunStatus::Failed) return std::nullopt;
    return record;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string resume_command(const Experiment& e, const RunnerOptions& options) {
  return "ltrnn run " + e.source.string() + " --out " + options.out_dir.string() +
         (options.shard ? " --shard " + options.shard->text() : std::string()) + " --resume";
}

}  // namespace ltrnn
