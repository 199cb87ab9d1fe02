// The plan of an experiment: its run groups expanded over ranks, hidden sizes and seeds;
// and the resolved experiment, every default filled in, as saved to experiment.json.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/experiment.h"

namespace ltrnn {

// One fit of the plan: family x rank x hidden size x seed.
struct PlannedRun {
  std::string id;
  ModelConfig model;
  TrainConfig train;
};

// Expands the runs: group order, then rank, hidden size, seed. Ids are stable.
std::vector<PlannedRun> plan_runs(const Experiment& experiment);
// "plan: N runs" and one line per run, as `validate` and `run` print it.
std::string format_plan(const std::vector<PlannedRun>& plan);

// The fully resolved experiment (every default filled in), as saved to experiment.json.
nlohmann::json resolved_json(const Experiment& experiment);
// Writes out_dir/experiment.json (atomically): the one writer of that file.
void write_resolved_experiment(const std::filesystem::path& out_dir, const Experiment& experiment);

}  // namespace ltrnn
