// The data every run of an experiment shares (docs/design.md section 7): the dataset,
// preprocessed, and the cross-validation masks; computed once per process, written once per
// output directory, and checked by every other process that computes them again.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "data/dataset.h"
#include "data/masks.h"
#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "experiment/runner_options.h"

namespace ltrnn {

struct SharedData {
  Dataset dataset;
  Masks masks;
  nlohmann::json notes = nlohmann::json::object();  // what the generator reported (results.json)
};

// The dataset (loaded, or generated and saved to out_dir/dataset.npz when `save`),
// preprocessed, and the masks; prints their sizes. `compare_with_saved`: a generated
// dataset must equal out_dir/dataset.npz (a generator's numbers may depend on the machine's
// kernels or thread count).
SharedData prepare_data(const Experiment& experiment, const std::filesystem::path& out_dir, bool save,
                        bool compare_with_saved, std::ostream& out);

// The experiment's shared files: masks.npz, the generator's notes, and experiment.json last
// (its presence tells shards that the others are complete).
void write_shared_files(const Experiment& experiment, const std::filesystem::path& out_dir, const SharedData& shared);

// The shared data of one shard (options.shard): the first shard to take the setup lock
// generates them and writes the shared files; every other shard waits for that, checks they
// belong to its own experiment, and computes the same data without writing it. `mine`: the
// shard's plan entries, whose directories must not exist unless options.resume.
SharedData prepare_shard_data(const Experiment& experiment, const nlohmann::json& resolved,
                              const RunnerOptions& options, const std::vector<PlannedRun>& plan,
                              const std::vector<std::size_t>& mine, std::ostream& out);

}  // namespace ltrnn
