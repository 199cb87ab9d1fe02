// TorchScript export: the fitted tensors as buffers, the dynamics as TorchScript source.
#include "export/torchscript.h"

#include "model/families.h"
#include "util/files.h"

namespace ltrnn {

namespace {

// The family-specific part: select(trials) gathers what the recurrent term needs for
// these trials once; recurrent(rates, selected) is W(k) phi; weights(trials) is W(k).
const char* family_source(ModelKind kind) {
  switch (kind) {
    case ModelKind::TensorRank:
      return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.trial_factors.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return (rates.matmul(self.row_factors) * selected[0]).matmul(self.column_factors.t())

  def weights(self, trials: Tensor) -> Tensor:
    c = self.trial_factors.index_select(0, trials)
    return torch.einsum('kr,ir,jr->kij', [c, self.column_factors, self.row_factors])
)";
    case ModelKind::Full:
      return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.weight_tensor.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return (selected[0] * rates.unsqueeze(1)).sum(2)

  def weights(self, trials: Tensor) -> Tensor:
    return self.weight_tensor.index_select(0, trials)
)";
    case ModelKind::Static:
      return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.weight]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    return rates.matmul(selected[0].t())

  def weights(self, trials: Tensor) -> Tensor:
    return self.weight.unsqueeze(0).repeat(trials.size(0), 1, 1)
)";
    case ModelKind::MatrixRank:
      return R"(
  def select(self, trials: Tensor) -> List[Tensor]:
    return [self.left_factors.index_select(0, trials), self.right_factors.index_select(0, trials)]

  def recurrent(self, rates: Tensor, selected: List[Tensor]) -> Tensor:
    projected = (selected[1] * rates.unsqueeze(2)).sum(1)
    return (selected[0] * projected.unsqueeze(1)).sum(2)

  def weights(self, trials: Tensor) -> Tensor:
    left = self.left_factors.index_select(0, trials)
    right = self.right_factors.index_select(0, trials)
    return left.bmm(right.transpose(1, 2))
)";
  }
  throw std::logic_error("family_source: unknown model kind");
}

// Shared by every family: the same equations as RnnModelImpl::simulate (DESIGN section 1).
const char* kSharedSource = R"(
  def drift(self, x: Tensor, external: Tensor, selected: List[Tensor]) -> Tensor:
    return (self.recurrent(torch.tanh(x), selected) - x + external) * (1.0 / self.tau)

  def step(self, x: Tensor, external: Tensor, selected: List[Tensor], h: float) -> Tensor:
    if self.solver == 0:
      return x + h * self.drift(x, external, selected)
    if self.solver == 1:
      k1 = self.drift(x, external, selected)
      k2 = self.drift(x + h * k1, external, selected)
      return x + (0.5 * h) * (k1 + k2)
    k1 = self.drift(x, external, selected)
    k2 = self.drift(x + (0.5 * h) * k1, external, selected)
    k3 = self.drift(x + (0.5 * h) * k2, external, selected)
    k4 = self.drift(x + h * k3, external, selected)
    return x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

  def hidden(self, trials: Tensor) -> Tensor:
    selected = self.select(trials)
    condition = self.condition.index_select(0, trials)
    basis = self.input_basis.t()
    drive = (self.inputs.index_select(0, condition) + self.bias).matmul(basis)
    constant = self.bias.matmul(basis)
    x = self.initial_state.index_select(0, condition).matmul(basis)
    states = [x]
    h = self.dt / self.substeps
    for t in range(self.n_bins - 1):
      slot = self.input_slot[t]
      external = constant
      if slot >= 0:
        external = drive.select(1, slot)
      for s in range(self.substeps):
        x = self.step(x, external, selected, h)
      states.append(x)
    return torch.stack(states)

  def forward(self, trials: Tensor) -> Tensor:
    y = torch.tanh(self.hidden(trials)).matmul(self.readout.t()) + self.readout_bias
    if self.exp_link:
      y = torch.exp(y)
    return y
)";

int64_t solver_code(Solver solver) {
  switch (solver) {
    case Solver::Euler: return 0;
    case Solver::Heun: return 1;
    case Solver::RK4: return 2;
  }
  return 1;
}

}  // namespace

torch::jit::Module to_torchscript(const RnnModel& model) {
  torch::NoGradGuard no_grad;
  const ModelConfig& config = model->config();
  const TrialStructure& structure = model->structure();
  torch::jit::Module module("ltrnn_" + to_string(config.kind));
  const auto buffer = [&](const std::string& name, const torch::Tensor& value) {
    module.register_buffer(name, value.detach().clone().contiguous());
  };
  const auto dtype = model->readout.scalar_type();

  // 1. The fitted tensors, under their exported names.
  for (const auto& [name, tensor] : model->named_factors()) buffer(name == "weights" && config.kind == ModelKind::Full
                                                                      ? "weight_tensor"
                                                                  : name == "weights" ? "weight"
                                                                                      : name,
                                                                  tensor);
  if (config.kind == ModelKind::TensorRank) buffer("input_basis", model->weights_->input_basis());
  buffer("readout", model->readout_matrix());
  buffer("readout_bias", config.readout_bias ? model->readout_bias : torch::zeros_like(model->readout_bias));
  buffer("bias", config.recurrent_bias ? model->bias : torch::zeros_like(model->bias));
  buffer("initial_state", model->initial_state);
  buffer("inputs", model->inputs);

  // 2. What the dynamics and a user need to know.
  buffer("condition", structure.condition);
  buffer("epoch", structure.epoch);
  buffer("trial_id", structure.trial_id);
  buffer("times", structure.times.to(dtype));
  module.register_attribute("model_kind", c10::StringType::get(), to_string(config.kind));
  module.register_attribute("hidden_size", c10::IntType::get(), config.hidden);
  module.register_attribute("rank", c10::IntType::get(), has_rank(config.kind) ? config.rank : int64_t{0});
  module.register_attribute("n_trials", c10::IntType::get(), structure.n_trials());
  module.register_attribute("n_bins", c10::IntType::get(), structure.n_bins());
  module.register_attribute("dt", c10::FloatType::get(), structure.dt);
  module.register_attribute("tau", c10::FloatType::get(), config.tau);
  module.register_attribute("solver", c10::IntType::get(), solver_code(config.solver));
  module.register_attribute("solver_name", c10::StringType::get(), to_string(config.solver));
  module.register_attribute("substeps", c10::IntType::get(), config.substeps);
  module.register_attribute("exp_link", c10::BoolType::get(), model->exp_link);
  module.register_attribute("input_slot", c10::ListType::ofInts(), c10::List<int64_t>(structure.input_slot));

  // 3. The methods.
  module.define(std::string(family_source(config.kind)) + kSharedSource);
  module.eval();
  return module;
}

void save_torchscript(const std::filesystem::path& path, const RnnModel& model) {
  torch::jit::Module module = to_torchscript(model);
  write_via_temp(path, [&](const std::filesystem::path& tmp) { module.save(tmp.string()); });
}

}  // namespace ltrnn
