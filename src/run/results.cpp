// results.json and results.csv.
#include "run/results.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "run/comparison.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// results.csv holds the scores; results.json also their standard errors.
bool in_csv(const char* key) {
  const std::string k = key;
  return k.size() < 3 || k.compare(k.size() - 3, 3, "_se") != 0;
}

// One CSV line of a record's fields; commas, quotes and newlines in text become ';'.
class CsvLine {
 public:
  explicit CsvLine(std::ostringstream& out) : out_(out) {}
  template <class T>
  void field(const char* key, const T& value) {
    if (!in_csv(key)) return;
    separate();
    out_ << value;
  }
  void field(const char*, const std::string& value) {
    separate();
    std::string text = value;
    for (char& ch : text)
      if (ch == ',' || ch == '"' || ch == '\n') ch = ';';
    out_ << text;
  }
  // Two columns: the status's name and its reason (empty when finished).
  void field(const char* key, const RunOutcome& value) {
    field(key, enum_name(value.status));
    field(key, value.reason);
  }
  void field(const char* key, ModelKind value) { field(key, to_string(value)); }
  void field(const char* key, RunStart value) { field(key, enum_name(value)); }

 private:
  void separate() {
    if (!first_) out_ << ',';
    first_ = false;
  }
  std::ostringstream& out_;
  bool first_ = true;
};

struct CsvHeader {
  std::string line;
  template <class T>
  void field(const char* key, const T&) {
    if (in_csv(key)) line += (line.empty() ? "" : ",") + std::string(key);
  }
  void field(const char* key, const RunOutcome&) {
    line += (line.empty() ? "" : ",") + std::string(key) + ",status_reason";
  }
};

// results_sessions.csv: a row per run and recording session, on a dataset of several.
void write_session_scores(const fs::path& out_dir, const std::vector<RunRecord>& runs) {
  const bool any = std::any_of(runs.begin(), runs.end(), [](const RunRecord& r) { return !r.sessions.empty(); });
  if (!any) return;
  std::ostringstream csv;
  csv << "id,session,test_nmse,test_r2,test_bits_per_spike,validation_loss\n" << std::setprecision(9);
  for (const RunRecord& r : runs)
    for (const SessionScores& s : r.sessions) {
      CsvLine line(csv);
      line.field("id", r.id);
      line.field("session", s.session);
      line.field("test_nmse", s.test_nmse);
      line.field("test_r2", s.test_r2);
      line.field("test_bits_per_spike", s.test_bits_per_spike);
      line.field("validation_loss", s.validation_loss);
      csv << '\n';
    }
  write_file_atomic(out_dir / "results_sessions.csv", csv.str());
}

}  // namespace

void write_results(const fs::path& out_dir, const json& experiment, const std::vector<RunRecord>& runs,
                   const json& extra) {
  const ComparisonTable table = compare_runs(runs, entry_losses_in(out_dir));
  json results{{"experiment", experiment},
               {"runs", runs},
               {"best", nullptr},
               {"summary", comparison_rows_json(table)},
               {"selected_rank", selected_rank_json(table.selected_rank)},
               {"discretisation", discretisation_json(table)}};
  if (extra.is_object()) results.update(extra);
  if (const RunRecord* best = best_finished_run(runs)) results["best"] = *best;
  write_file_atomic(out_dir / "results.json", results.dump(2) + "\n");

  std::ostringstream csv;
  CsvHeader header;
  const RunRecord columns;
  RunRecord::fields(columns, header);
  csv << header.line << "\n" << std::setprecision(9);
  for (const RunRecord& r : runs) {
    CsvLine line(csv);
    RunRecord::fields(r, line);
    csv << '\n';
  }
  write_file_atomic(out_dir / "results.csv", csv.str());
  write_session_scores(out_dir, runs);
}

ResultsFile read_results(const fs::path& path) {
  json document;
  try {
    document = json::parse(read_file(path));
  } catch (const json::exception& error) {
    throw InputError(path.string() + ": not valid JSON (" + error.what() + ")");
  }
  return results_from_json(std::move(document), path.string());
}

ResultsFile results_from_json(json document, const std::string& where) {
  ResultsFile results;
  results.document = std::move(document);
  const json& runs = results.document.contains("runs") ? results.document["runs"] : json();
  if (!runs.is_array()) throw InputError(where + ": expected a \"runs\" array");
  for (std::size_t i = 0; i < runs.size(); ++i)
    results.runs.push_back(run_record_from_json(runs[i], where + " /runs/" + std::to_string(i)));
  if (results.document.contains("selected_rank")) {
    results.selected_rank = selected_rank_from_json(results.document["selected_rank"], where);
    if (results.document.contains("summary"))
      results.summary = comparison_rows_from_json(results.document["summary"], where + " /summary");
  }
  return results;
}

}  // namespace ltrnn
