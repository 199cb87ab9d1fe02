// The page of a sweep: a directory whose subdirectories are experiment output directories
// that differ in a few dataset parameters (scripts/paper_reach_sweep writes one). One row
// per cell, charts with a line per cell: the reaching learning curve, the CP error of the
// true updates, the ltrRNN's test error and its trial-factor similarity against rank
// (docs/design.md section 10). Built from saved results only.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/html.h"
#include "run/results.h"

namespace ltrnn {

struct SweepCell {
  std::string name;           // the subdirectory
  nlohmann::json parameters;  // the dataset parameters of its experiment.json
  ResultsFile results;        // results.json
  nlohmann::json ranks;       // analysis/ranks.json (`ltrnn analyze ranks`), null when absent
};

struct Sweep {
  std::vector<SweepCell> cells;     // sorted by name
  std::vector<std::string> varied;  // dataset parameters whose values differ between cells
};

// True when `dir` holds no experiment.json of its own and some subdirectory holds results.json.
bool is_sweep_directory(const std::filesystem::path& dir);
// The finished cells (subdirectories with experiment.json and results.json); InputError when none.
Sweep load_sweep(const std::filesystem::path& dir);

ReportPage build_sweep_report(const Sweep& sweep);
// The table `ltrnn report` prints for a sweep: one line per cell.
std::string format_sweep_table(const Sweep& sweep);

}  // namespace ltrnn
