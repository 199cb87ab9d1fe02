// The plan of an experiment: its run groups expanded over ranks, hidden sizes and seeds;
// and the resolved experiment, every default filled in, as saved to experiment.json.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "run/record.h"
#include "train/memory.h"

namespace ltrnn {

// One fit of the plan: family x rank x hidden size x seed, or a start of the rank ladder.
struct PlannedRun {
  std::string id;
  ModelConfig model;
  TrainConfig train;
  std::size_t group = 0;     // index in the experiment's "runs"
  bool distributed = false;  // the group's "distributed"
  // The rank ladder (docs/design.md section 5): Up starts from the best fit of source_rank
  // (the rank below) plus new components, Down from the best fit of source_rank (the rank
  // above) less its weakest; ladder_step orders the starts (the up chain's first, 0 first).
  RunStart start = RunStart::Seed;
  int64_t source_rank = 0;
  int64_t ladder_step = 0;
  bool laddered() const { return start != RunStart::Seed; }
};

// Expands the runs: group order, then rank, hidden size, seed; then the rank ladder's
// starts of every group (train.ladder, a family with components, two or more ranks, not
// distributed), each hidden size's up chain then its down chain. Ids are stable: a ladder
// start is "<model>-r<rank>-n<hidden>-up" or "-down", and the seeds' runs keep the
// indices they have without the ladder.
std::vector<PlannedRun> plan_runs(const Experiment& experiment);
// The plan entries a ladder start `i` may start from: the group's runs at its hidden size
// and source rank, from seeds or the up chain for an up start, from any start for a down
// start. Empty for a seed's run.
std::vector<std::size_t> ladder_sources(const std::vector<PlannedRun>& plan, std::size_t i);
// The ladder starts among `runs`, in waves: every start of wave w depends only on the
// seeds' runs and on waves before w.
std::vector<std::vector<std::size_t>> ladder_waves(const std::vector<PlannedRun>& plan,
                                                   const std::vector<std::size_t>& runs);
// "plan: N runs" and one line per run, as `validate` and `run` print it; with the data's
// sizes, each run's estimated peak memory (train/memory.h).
std::string format_plan(const std::vector<PlannedRun>& plan, const std::optional<DataSizes>& sizes = std::nullopt);

// The data's sizes when the experiment's settings give them (a generator), else none (a
// file or recording: known once loaded).
std::optional<DataSizes> data_sizes_from_settings(const Experiment& experiment);

// Refuses (InputError naming /runs/<group>) a run whose estimated peak memory exceeds what
// this machine offers, unless `force`.
void check_memory(const std::vector<PlannedRun>& plan, const DataSizes& sizes, bool force);

// The order in which several jobs take the runs: the longest first, by each run's
// matrix-product FLOPs (the family's recurrent_flop at every drift evaluation plus the
// readout, times its iteration cap), ties in plan order. With --jobs > 1 the wall time is
// that of the last run to finish: a `full` fit (about 40x a tensor_rank fit) started last
// would run alone at the end. Results are still reported in plan order.
std::vector<std::size_t> longest_runs_first(const std::vector<PlannedRun>& plan, const DataSizes& sizes);

// The fully resolved experiment (every default filled in), as saved to experiment.json.
nlohmann::json resolved_json(const Experiment& experiment);
// Writes out_dir/experiment.json (atomically): the one writer of that file.
void write_resolved_experiment(const std::filesystem::path& out_dir, const Experiment& experiment);

}  // namespace ltrnn
