// Fitted models as TorchScript (docs/design.md section 7): a self-contained torch::jit::Module that
// loads with torch.jit.load in Python and torch::jit::load in C++, with no ltrnn code.
//   forward(trials: Tensor[int64]) -> Tensor[T, len(trials), D]   the model's output
//   hidden(trials)  -> Tensor[T, len(trials), N]                    hidden states x
//   weights(trials) -> Tensor[len(trials), N, N]                    W(k)
// Attributes: model_kind, the family's factors (tensor_rank: trial_factors [K,R],
// column_factors [N,R], row_factors [N,R]; matrix_rank: left_factors, right_factors
// [K,N,R]; full: weight_tensor [K,N,N]; static: weight [N,N]), readout [D,N],
// readout_bias [D], input_basis, initial_state, inputs, and the metadata hidden_size,
// rank, n_trials, n_bins, dt, tau, solver, substeps, times [T], condition [K],
// trial_id [K], epoch [K].
#pragma once
#include <torch/script.h>

#include <filesystem>

#include "model/ltrnn_model.h"

namespace ltrnn {

torch::jit::Module to_torchscript(const RnnModel& model);
// Writes to_torchscript(model) to `path` atomically.
void save_torchscript(const std::filesystem::path& path, const RnnModel& model);

}  // namespace ltrnn
