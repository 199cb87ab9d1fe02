// The dataset of an experiment: loaded from its file, or generated in-process (and saved
// as out_dir/dataset.npz, so the report and the user can open it).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "data/dataset.h"
#include "experiment/experiment.h"

namespace ltrnn {

// What a generator reports about itself goes to `out` and into `notes` (kept in
// results.json). `save` false: out_dir/dataset.npz is not written (a shard whose sibling
// wrote it; the generators are deterministic given their seed).
Dataset experiment_dataset(const Experiment& experiment, const std::filesystem::path& out_dir, std::ostream& out,
                           nlohmann::json& notes, bool save = true);

}  // namespace ltrnn
