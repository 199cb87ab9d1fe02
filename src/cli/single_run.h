// The experiment a command of one fit writes (`ltrnn fit`, `ltrnn refit`): its output directory
// then has the shape `ltrnn run` gives it (experiment.json, results.json, runs/<id>/).
#pragma once
#include <filesystem>

#include "spec/experiment.h"

namespace ltrnn {

// The single run as an experiment: the data file, preprocessing, mask and one run group
// whose overrides are the model's every field.
Experiment single_run_experiment(const std::filesystem::path& data_path, const std::filesystem::path& out,
                                 const ModelConfig& model, const TrainConfig& train, const MaskConfig& mask,
                                 const PreprocessConfig& preprocess_config);

}  // namespace ltrnn
