// The analyses an experiment asks for after its fits ("analyses" in the experiment file):
// a CP decomposition of a dataset array (e.g. the reach generator's true weights over
// learning) and the comparison of the fitted ltrRNNs' trial factors with its own.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "experiment/experiment.h"
#include "run/record.h"

namespace ltrnn {

// Writes analysis/cp.json and analysis/cp.npz into out_dir, prints the tables to `out`
// and returns what results.json keeps under "analyses". `dataset_npz` is the dataset file
// (the generated out_dir/dataset.npz for generators). Nothing to do: an empty object.
nlohmann::json run_analyses(const Experiment& experiment, const std::filesystem::path& out_dir,
                            const std::filesystem::path& dataset_npz, const std::vector<RunRecord>& results,
                            const std::map<ModelKind, int64_t>& selected_rank, std::ostream& out);

}  // namespace ltrnn
