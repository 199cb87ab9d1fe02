// results.json and results.csv of an output directory (docs/design.md section 7): written
// by `ltrnn run` and `ltrnn fit`, read back by the report.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/comparison.h"
#include "run/record.h"

namespace ltrnn {

// Writes results.json ({"experiment", "runs", "best", "summary", "selected_rank"} of
// run/comparison.h, plus the keys of `extra`) and
// results.csv (one line per run, the columns of RunRecord::fields) into out_dir.
void write_results(const std::filesystem::path& out_dir, const nlohmann::json& experiment,
                   const std::vector<RunRecord>& runs, const nlohmann::json& extra = nullptr);

// What the report reads of results.json: the runs as typed records, the selected rank per
// ranked family, and the whole document for the rest (analyses, generator notes).
struct ResultsFile {
  std::vector<RunRecord> runs;
  std::map<ModelKind, int64_t> selected_rank;
  std::vector<ComparisonRow> summary;  // the comparison table's rows as written (empty when absent)
  nlohmann::json document;
};
// InputError naming the file when it is missing, not JSON, or its runs are malformed.
ResultsFile read_results(const std::filesystem::path& results_json);
// The same from an already parsed document; `where` names it in errors.
ResultsFile results_from_json(nlohmann::json document, const std::string& where);

}  // namespace ltrnn
