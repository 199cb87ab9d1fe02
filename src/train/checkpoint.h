// Checkpoints that describe themselves: the model's parameters, its config and trial
// structure (so it can be rebuilt without the dataset), the Adam state and the history.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "model/ltrnn_model.h"
#include "train/fit.h"

namespace ltrnn {

// A checkpoint: model parameters and buffers, Adam state, the history (exact, for the
// plateau rule on resume), the best iterate on the validation loss, and the model config.
void save_checkpoint(const std::filesystem::path& path, RnnModel& model, torch::optim::Optimizer* optimizer,
                     const std::vector<IterationRecord>& history, const BestIterate& best = {});
// Loads a checkpoint into a model built with the same config; returns the history, the
// best iterate and a function that restores the Adam state into a new optimizer.
FitStart load_checkpoint(const std::filesystem::path& path, RnnModel& model);
// Rebuilds the fitted model from a checkpoint alone: its config and trial structure are
// stored in it (a run directory describes itself). Throws InputError naming the file.
RnnModel model_from_checkpoint(const std::filesystem::path& path);

}  // namespace ltrnn
