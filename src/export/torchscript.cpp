// TorchScript export: the fitted tensors as buffers, the dynamics as TorchScript source.
#include "export/torchscript.h"

#include <iomanip>
#include <sstream>

#include "model/butcher_tableau.h"
#include "model/family.h"
#include "util/files.h"

namespace ltrnn {

namespace {

// A double as a TorchScript float literal, exactly (17 significant digits, always a '.').
std::string float_literal(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << value;
  std::string text = out.str();
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// The Runge-Kutta step of the model's solver, from its Butcher tableau (the operations of
// model/solvers.cpp, so the exported model computes what the fitted one did).
std::string step_source(Solver solver) {
  const ButcherTableau tableau = butcher_tableau(solver);
  std::ostringstream out;
  out << "\n  def step(self, x: Tensor, external: Tensor, selected: List[Tensor], h: float) -> Tensor:\n";
  for (int64_t j = 0; j < tableau.stages(); ++j) {
    std::string y = "x";
    for (std::size_t i = 0; i < tableau.a[j].size(); ++i)
      if (tableau.a[j][i] != 0)
        y = "(" + y + " + (h * " + float_literal(tableau.a[j][i]) + ") * k" + std::to_string(i) + ")";
    out << "    k" << j << " = self.drift(" << y << ", external, selected)\n";
  }
  std::string sum;
  for (int64_t j = 0; j < tableau.stages(); ++j) {
    const double n = tableau.b_numerator[j];
    const std::string term = n == 1 ? "k" + std::to_string(j) : float_literal(n) + " * k" + std::to_string(j);
    sum = j == 0 ? term : "(" + sum + " + " + term + ")";
  }
  out << "    return x + (h / " << float_literal(tableau.b_denominator) << ") * " << sum << "\n";
  return out.str();
}

// Shared by every family: the same equations as RnnModelImpl::simulate (docs/design.md
// section 1), with the family's select/recurrent and the solver's step.
const char* kSharedSource = R"(
  def drift(self, x: Tensor, external: Tensor, selected: List[Tensor]) -> Tensor:
    return (self.recurrent(torch.tanh(x), selected) - x + external) * (1.0 / self.tau)

  def hidden(self, trials: Tensor) -> Tensor:
    selected = self.select(trials)
    condition = self.condition.index_select(0, trials)
    basis = self.input_basis.t()
    per_trial = self.trial_drive.index_select(0, trials).unsqueeze(1)
    drive = (self.inputs.index_select(0, condition) + per_trial + self.bias).matmul(basis)
    constant = self.bias.matmul(basis)
    x = self.initial_state.index_select(0, condition).matmul(basis) + self.initial_offset.index_select(0, condition)
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

int64_t solver_code(Solver solver) { return static_cast<int64_t>(solver); }  // 0 euler, 1 heun, 2 rk4

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
  const FamilyTraits& family = family_traits(config.kind);
  bool has_input_basis = false;
  for (const auto& [name, tensor] : model->named_factors()) {
    const std::map<std::string, std::string> renames = family.torchscript_buffer_names();
    const auto renamed = renames.find(name);
    buffer(renamed == renames.end() ? name : renamed->second, tensor);
    has_input_basis = has_input_basis || name == "input_basis";
  }
  if (!has_input_basis) buffer("input_basis", model->weights_->input_basis());
  buffer("readout", model->readout_matrix());
  buffer("readout_bias", config.readout_bias ? model->readout_bias : torch::zeros_like(model->readout_bias));
  buffer("bias", config.recurrent_bias ? model->bias : torch::zeros_like(model->bias));
  buffer("initial_state", model->initial_state);
  // e_c [C, N], the free initial states' part outside span(A) (zeros without them).
  buffer("initial_offset", model->initial_offset.defined()
                               ? model->initial_offset
                               : torch::zeros({structure.n_conditions, config.hidden}, model->initial_state.options()));
  buffer("inputs", model->inputs);
  // v_c * c[k] for every trial [K, R_in] (zeros without trial inputs): the trial inputs' drive.
  buffer("trial_drive", model->trial_drive(torch::arange(structure.n_trials(), torch::kInt64)));

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
  module.register_attribute("tau", c10::FloatType::get(), model->tau());  // the fitted value when learnt
  module.register_attribute("solver", c10::IntType::get(), solver_code(config.solver));
  module.register_attribute("solver_name", c10::StringType::get(), to_string(config.solver));
  module.register_attribute("substeps", c10::IntType::get(), config.substeps);
  module.register_attribute("exp_link", c10::BoolType::get(), model->exp_link);
  module.register_attribute("input_slot", c10::ListType::ofInts(), c10::List<int64_t>(structure.input_slot));

  // 3. The methods.
  module.define(family.torchscript_methods() + step_source(config.solver) + kSharedSource);
  module.eval();
  return module;
}

void save_torchscript(const std::filesystem::path& path, const RnnModel& model) {
  torch::jit::Module module = to_torchscript(model);
  // In memory first, as for checkpoints (train/checkpoint.cpp): a failed write is an error, not a crash.
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomic(path, bytes.str());
}

}  // namespace ltrnn
