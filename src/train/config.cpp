// The loss and device kinds by name, and the checks of TrainConfig values.
#include "train/config.h"

namespace ltrnn {

template <>
const std::vector<std::pair<DeviceKind, std::string>>& EnumNames<DeviceKind>::table() {
  static const std::vector<std::pair<DeviceKind, std::string>> t{
      {DeviceKind::Cpu, "cpu"}, {DeviceKind::Cuda, "cuda"}, {DeviceKind::Auto, "auto"}};
  return t;
}

template <>
const std::vector<std::pair<LossKind, std::string>>& EnumNames<LossKind>::table() {
  static const std::vector<std::pair<LossKind, std::string>> t{
      {LossKind::Auto, "auto"}, {LossKind::MSE, "mse"}, {LossKind::Poisson, "poisson"}};
  return t;
}

void validate(const TrainConfig& c, const std::string& p) {
  require(c.iterations >= 1, p + "/iterations", "must be >= 1");
  require(c.learning_rate > 0, p + "/learning_rate", "must be > 0");
  require(c.lr_patience >= 0, p + "/lr_patience", "must be >= 0");
  require(c.lr_factor > 0 && c.lr_factor < 1, p + "/lr_factor", "must be in (0, 1)");
  require(c.lr_reductions >= 0, p + "/lr_reductions", "must be >= 0");
  require(c.tau_pilot_iterations >= 0, p + "/tau_pilot_iterations", "must be >= 0");
  require(c.min_improvement >= 0 && c.min_improvement < 1, p + "/min_improvement", "must be in [0, 1)");
  require(c.polish_after >= 0, p + "/polish_after", "must be >= 0");
  require(c.polish_patience >= 1, p + "/polish_patience", "must be >= 1");
  require(c.polish_tolerance >= 0 && c.polish_tolerance < 1, p + "/polish_tolerance", "must be in [0, 1)");
  require(c.polish_history >= 1, p + "/polish_history", "must be >= 1");
  require(c.more_starts >= 0 && c.more_starts <= 64, p + "/more_starts", "must be in [0, 64]");
  require(c.fraction_masked >= 0 && c.fraction_masked < 1, p + "/fraction_masked", "must be in [0, 1)");
  require(c.l2_hidden >= 0, p + "/l2_hidden", "must be >= 0");
  require(c.l2_inputs >= 0, p + "/l2_inputs", "must be >= 0");
  require(c.plateau_window >= 0 && c.plateau_window != 1, p + "/plateau_window", "must be 0 (off) or >= 2");
  require(c.plateau_threshold >= 0, p + "/plateau_threshold", "must be >= 0");
  require(c.patience >= 0, p + "/patience", "must be >= 0");
  require(c.checkpoint_every >= 1, p + "/checkpoint_every", "must be >= 1");
  require(c.threads >= 0, p + "/threads", "must be >= 0");
}

}  // namespace ltrnn
