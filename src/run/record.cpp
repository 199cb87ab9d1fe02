// Run records to and from JSON, summary.json, and the best finished run.
#include "run/record.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "util/errors.h"
#include "util/files.h"
#include "util/json_fields.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

template <>
const std::vector<std::pair<RunStatus, std::string>>& EnumNames<RunStatus>::table() {
  static const std::vector<std::pair<RunStatus, std::string>> t{
      {RunStatus::Finished, "finished"}, {RunStatus::Diverged, "diverged"}, {RunStatus::Failed, "failed"}};
  return t;
}

template <>
const std::vector<std::pair<RunStart, std::string>>& EnumNames<RunStart>::table() {
  static const std::vector<std::pair<RunStart, std::string>> t{
      {RunStart::Seed, "seed"}, {RunStart::Up, "up"}, {RunStart::Down, "down"}};
  return t;
}

std::string RunOutcome::text() const {
  if (status == RunStatus::Finished) return "finished";
  return enum_name(status) + (reason.empty() ? "" : ": " + reason);
}

RunOutcome RunOutcome::parse(const std::string& status, const std::string& reason) {
  for (const auto& [value, name] : EnumNames<RunStatus>::table())
    if (status == name) return {value, value == RunStatus::Finished ? "" : reason};
  // An older record: "failed: <reason>", a diverged run's reason starting with "diverged".
  const std::string failed_prefix = "failed: ", diverged_prefix = "diverged";
  if (status.rfind(failed_prefix, 0) == 0) {
    std::string why = status.substr(failed_prefix.size());
    if (why.rfind(diverged_prefix, 0) != 0) return failed(why);
    why = why.substr(diverged_prefix.size());
    return diverged(why.rfind(": ", 0) == 0 ? why.substr(2) : why);
  }
  return failed(status);  // not written by ltrnn: kept, and fitted again on resume
}

void to_json(json& j, const RunOutcome& outcome) { j = enum_name(outcome.status); }

namespace {

// JSON has no NaN: a score that is not a number is written as null, and read back as NaN.
json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }
double number_or_nan(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : std::nan("");
}

}  // namespace

void to_json(json& j, const SessionScores& s) {
  j = {{"session", s.session},
       {"test_nmse", number_or_null(s.test_nmse)},
       {"test_r2", number_or_null(s.test_r2)},
       {"test_bits_per_spike", number_or_null(s.test_bits_per_spike)},
       {"validation_loss", number_or_null(s.validation_loss)}};
}

void to_json(json& j, const RunRecord& record) {
  j = json::object();
  JsonFieldWriter writer(j);
  RunRecord::fields(record, writer);
  if (!record.outcome.reason.empty()) j["status_reason"] = record.outcome.reason;
  if (!record.sessions.empty()) j["sessions"] = record.sessions;
}

namespace {

// Reads every field of a record; those from test_nmse_se on may be absent (older records).
class RecordReader {
 public:
  RecordReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}
  template <class T>
  std::enable_if_t<!std::is_enum_v<T>> field(const char* key, T& value) {
    optional_ = optional_ || std::string(key) == "test_nmse_se";
    if (optional_ && !j_.contains(key)) return;
    try {
      value = j_.at(key).get<T>();
    } catch (const json::exception& error) {
      throw InputError(where_ + ": incomplete run record (" + error.what() + ")");
    }
  }
  // JSON has no NaN: a non-finite score was written as null.
  void field(const char* key, double& value) {
    optional_ = optional_ || std::string(key) == "test_nmse_se";
    if (optional_ && !j_.contains(key)) return;
    if (j_.contains(key) && j_.at(key).is_null()) {
      value = std::nan("");
      return;
    }
    field<double>(key, value);
  }
  template <typename E>
  std::enable_if_t<std::is_enum_v<E>> field(const char* key, E& value) {
    std::string name;
    field(key, name);
    value = parse_enum<E>(name, where_ + ": /" + key);
  }
  void field(const char* key, RunOutcome& value) {
    std::string status;
    field(key, status);
    std::string reason;
    if (j_.contains("status_reason") && j_.at("status_reason").is_string())
      reason = j_.at("status_reason").get<std::string>();
    value = RunOutcome::parse(status, reason);
  }

 private:
  const json& j_;
  std::string where_;
  bool optional_ = false;  // reached the fields that may be absent
};

}  // namespace

RunRecord run_record_from_json(const json& j, const std::string& where) {
  RunRecord record;
  RecordReader reader(j, where);
  RunRecord::fields(record, reader);
  if (j.contains("sessions") && j.at("sessions").is_array())
    for (const json& s : j.at("sessions"))
      record.sessions.push_back({s.value("session", ""), number_or_nan(s, "test_nmse"), number_or_nan(s, "test_r2"),
                                 number_or_nan(s, "test_bits_per_spike"), number_or_nan(s, "validation_loss")});
  return record;
}

std::optional<RunRecord> read_run_record(const fs::path& run_dir) {
  const fs::path path = run_dir / "summary.json";
  if (!fs::exists(path)) return std::nullopt;
  json j;
  try {
    j = json::parse(read_file(path)).at("summary");
  } catch (const json::exception& error) {
    throw InputError(path.string() + ": unreadable run summary (" + error.what() + ")");
  }
  return run_record_from_json(j, path.string());
}

void write_run_record(const fs::path& run_dir, const RunRecord& record, const json& extra) {
  json document{{"summary", record}};
  if (extra.is_object()) document.update(extra);
  write_file_atomic(run_dir / "summary.json", document.dump(2) + "\n");
}

double selection_loss(const RunRecord& record) {
  return record.validated() ? record.validation_loss : record.test_nmse;
}

const RunRecord* best_finished_run(const std::vector<RunRecord>& runs,
                                   const std::function<bool(const RunRecord&)>& among) {
  const RunRecord* best = nullptr;
  for (const RunRecord& r : runs)
    if (r.finished() && (!among || among(r)) && (!best || selection_loss(r) < selection_loss(*best))) best = &r;
  return best;
}

}  // namespace ltrnn
