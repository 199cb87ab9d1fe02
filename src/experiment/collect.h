// The end of an experiment: the comparison table, the analyses, results.json/csv and the
// report, from the runs of one `ltrnn run` or, by `ltrnn collect`, from the run directories
// that shards wrote (docs/design.md section 9).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "run/record.h"

namespace ltrnn {

// Comparison table, analyses, results.json/csv (`extra`: further top-level keys) and, when
// the experiment asks for it, the report (a report that cannot be written is a warning:
// the results are saved already).
void summarise_experiment(const Experiment& experiment, const std::filesystem::path& out_dir,
                          const nlohmann::json& resolved, const std::vector<RunRecord>& runs, nlohmann::json extra,
                          std::ostream& out);

// `ltrnn collect`: results.json, results.csv and the report of an output directory whose
// runs were fitted by shards (or any `ltrnn run`), from its run directories. Refuses
// (InputError) while shards still hold the directory, or when the experiment file
// (`experiment_file`, else the "source" its experiment.json names) changed since.
struct CollectOutcome {
  std::vector<RunRecord> runs;  // every run with a summary.json, in plan order
  // "<id> (shard I/N[, has a checkpoint])" of the others, and "<id> (failed: ...; shard I/N)"
  // of runs that failed other than by diverging (--resume fits them again).
  std::vector<std::string> missing;
};
CollectOutcome collect_experiment(const std::filesystem::path& out_dir,
                                  const std::optional<std::filesystem::path>& experiment_file, std::ostream& out);

}  // namespace ltrnn
