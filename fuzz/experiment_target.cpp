// Fuzz target of the experiment parser (experiment/experiment.h): arbitrary bytes as an
// experiment file, through load_experiment (JSON parsing, the schema, the semantic checks).
#include <string>

#include "experiment/experiment.h"
#include "fuzz/support.h"
#include "fuzz/targets.h"

namespace ltrnn::fuzz {

namespace {

// What an accepted experiment promises the runner: runs with positive hidden sizes and,
// for the families with a rank, positive ranks no larger than them (the schema's bounds,
// whichever way the ranks were written).
void check_experiment(const Experiment& e) {
  check(!e.name.empty(), "experiment", "accepted without a name");
  check(!e.runs.empty() && !e.seeds.empty(), "experiment", "accepted without runs or seeds");
  for (const RunGroup& group : e.runs) {
    check(!group.hidden.empty(), "experiment", "a run group without hidden sizes");
    for (int64_t hidden : group.hidden) {
      check(hidden >= 1, "experiment", "a hidden size below 1");
      for (int64_t rank : group.ranks) check(rank >= 1 && rank <= hidden, "experiment", "a rank outside 1..hidden");
    }
  }
  for (int64_t rank : e.analyses.cp_ranks) check(rank >= 1, "experiment", "a CP rank below 1");
  if (const auto* nwb = std::get_if<NwbImportOptions>(&e.dataset)) nwb_options_json(*nwb).dump();
}

}  // namespace

void experiment_input(const uint8_t* data, std::size_t size) {
  // A file, not a json value: load_experiment's own JSON error handling is part of the target.
  const auto path = write_scratch_file("experiment.json", data, size);
  expect_clean("experiment", [&] { check_experiment(load_experiment(path)); });
}

}  // namespace ltrnn::fuzz
