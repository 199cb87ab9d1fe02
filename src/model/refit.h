// A refit (docs/design.md section 7, "Refit"): a model for new trials made from a fitted one,
// whose latent network stays as it was fitted and only what belongs to the new trials is
// fitted -- the trial factors, and the readout when the neurons are new.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/ltrnn_model.h"

namespace ltrnn {

// The rows of the fitted readout the new trials' neurons are: [first, first + count) (one
// recording session's neurons, or all of them), or none: a new readout, fitted.
struct ReadoutRows {
  int64_t first = 0, count = 0;
};

// Sets `target` (built for the new trials, with the fitted model's config and condition
// count) from `fitted` and marks what the refit fits: the trial factors (started at the
// fitted model's mean trial factor: the new trials begin as an average trial), and with
// `rows` unset the readout (as `target` drew it, its baseline at the new training means).
// Everything else -- the recurrent directions, the time constant, inputs, initial states,
// trial inputs, biases and, with `rows`, those readout rows -- is copied and frozen.
// Returns the names of the parameters the refit fits. InputError when the models differ in
// anything but their trials and neurons.
std::vector<std::string> start_refit(RnnModel& target, const RnnModel& fitted, const std::optional<ReadoutRows>& rows);

}  // namespace ltrnn
