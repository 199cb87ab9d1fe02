// Forward and discrete-adjoint backward of the explicit Runge-Kutta solvers for the drift
// f(y) = (W(k) tanh(y) - y + e) / tau, with W(k) = A diag(c_k) B^T (A, B shared by all
// trials, or each trial's own with c = 1) or dense.
//
// A step with Butcher tableau (a, b) reads y_j = x + h sum_{i<j} a_ji k_i, k_j = f(y_j),
// x' = x + h sum_j b_j k_j. Given g' = dL/dx', the backward runs the stages in reverse:
// dL/dk_j = h b_j g' + sum_{l>j} h a_lj dL/dy_l and dL/dy_j = J_f(y_j)^T dL/dk_j, with
//   J_f(y)^T g = (1 - r^2) * (W(k)^T G) - G,   G = g / tau, r = tanh(y),
// and dL/dx = g' + sum_j dL/dy_j. The parameter gradients of each evaluation are de += G and
//   low rank: W^T G = ((G A) * c) B^T;  dA += G^T ((r B) * c),  dB += r^T ((G A) * c),  dc += (G A) * (r B)
//   dense:    dW(k) += G r^T  (summed over trials when W is shared)
// and, since k_j = (1/tau) (W r_j + e - y_j), the time constant's
//   d(1/tau) += dL/dk_j . (W r_j + e - y_j) = tau (G . e - G . y_j + (W^T G) . r_j).
// The forward keeps each stage's rates r_j (and, low rank, projections r_j B; with a learnt
// tau, states y_j) for the backward; dense weights are read again, never copied per step. The per-trial work is in
// fused_kernels.h (CPU) and fused_kernels_cuda.h (CUDA); this file schedules it and speaks autograd.
#include "model/fused_integration.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <atomic>

#include "ltrnn_build_config.h"
#include "model/device.h"
#include "model/fused_kernels.h"
#include "model/fused_kernels_cuda.h"

namespace ltrnn {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Trials are handed out in groups of kGroupSize to whichever thread is free (the two
// cores of a shared machine do not always run at the same speed). Group boundaries do
// not depend on the thread count, and the groups' shared gradients are summed in group
// order, so the numbers are the same for any thread count.
constexpr int64_t kGroupSize = 8;

int64_t n_groups(int64_t trials) { return (trials + kGroupSize - 1) / kGroupSize; }

template <class Work>
void for_each_group(int64_t trials, const Work& work) {
  const int64_t groups = n_groups(trials);
  std::atomic<int64_t> next{0};
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), groups));
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t g = next++; g < groups; g = next++) work(g, g * kGroupSize, std::min(trials, (g + 1) * kGroupSize));
  });
}

// A defined tensor's data, or null (the kernels' "absent").
template <class Scalar>
Scalar* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<Scalar>() : nullptr;
}

// Low-rank factors [k, R, N] or dense weights [k, N, N]: each trial's own (a leading trial axis).
bool per_trial_weights(const Tensor& At, const Tensor& W) {
  return (At.defined() && At.dim() == 3) || (W.defined() && W.dim() == 3);
}

struct Settings {
  Solver solver;
  int64_t n_bins, substeps;
  double dt, inv_tau;
  std::vector<int64_t> input_slot;
  bool dense;  // W given; else A, B (and c when has_c); absent inputs are empty placeholders
  bool has_c;
  bool learn_tau;  // dL/d(1/tau) wanted: the forward keeps each stage's state
};

// The kernels' view of one integration. Tensors must be contiguous and outlive it; the
// weights' form is the one whose tensors are defined.
template <class Scalar>
FusedProblem<Scalar> problem(const Settings& s, const Tensor& At, const Tensor& Bt, const Tensor& c, const Tensor& W,
                             const Tensor& drive, const Tensor& constant_drive, const Tensor& hidden,
                             const Tensor& rates, const Tensor& stage_rates, const Tensor& stage_projections,
                             const Tensor& stage_states) {
  FusedProblem<Scalar> p;
  p.trials = drive.size(0);
  p.N = constant_drive.size(0);
  p.R = At.defined() ? At.size(-2) : 0;
  p.per_trial_weights = per_trial_weights(At, W);
  p.n_bins = s.n_bins;
  p.substeps = s.substeps;
  p.tableau = butcher_tableau(s.solver);
  p.h = s.dt / static_cast<double>(s.substeps);
  p.inv_tau = s.inv_tau;
  p.input_slot = s.input_slot.data();
  p.At = data_or_null<Scalar>(At);
  p.Bt = data_or_null<Scalar>(Bt);
  p.c = data_or_null<Scalar>(c);
  p.W = data_or_null<Scalar>(W);
  p.drive = data_or_null<Scalar>(drive);
  p.drive_bins = drive.size(1);
  p.constant_drive = data_or_null<Scalar>(constant_drive);
  p.hidden = data_or_null<Scalar>(hidden);
  p.rates = rates.data_ptr<Scalar>();
  p.stage_rates = stage_rates.data_ptr<Scalar>();
  p.stage_projections = data_or_null<Scalar>(stage_projections);
  p.stage_states = data_or_null<Scalar>(stage_states);
  return p;
}

// A contiguous, detached copy of a defined tensor; undefined stays undefined.
Tensor plain(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }
Tensor zeros_or_undefined(const Tensor& t) { return t.defined() ? torch::zeros_like(t) : Tensor(); }

// The input slots of every bin on the device, for the CUDA kernels.
Tensor slots_on(const Settings& s, const torch::Device& device) {
  return torch::tensor(s.input_slot, torch::kInt64).to(device);
}

// The CUDA kernels on LibTorch's current stream (model/fused_kernels_cuda.h); a CPU-only
// build refuses, naming the build option.
template <class Scalar>
void integrate_on_cuda(const FusedProblem<Scalar>& p, const Scalar* x0, const int64_t* slots) {
#ifdef LTRNN_CUDA
  integrate_trials_cuda<Scalar>(p, x0, slots, current_cuda_stream());
#else
  (void)p, (void)x0, (void)slots;
  TORCH_CHECK(false, "integrate_fused: tensors on a CUDA device, but ltrnn was built without CUDA (LTRNN_CUDA)");
#endif
}

template <class Scalar>
void adjoint_on_cuda(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                     const DeviceTrialGradients<Scalar>& out, const int64_t* slots) {
#ifdef LTRNN_CUDA
  adjoint_trials_cuda<Scalar>(p, grad_hidden, grad_rates, out, slots, current_cuda_stream());
#else
  (void)p, (void)grad_hidden, (void)grad_rates, (void)out, (void)slots;
  TORCH_CHECK(false, "integrate_fused: tensors on a CUDA device, but ltrnn was built without CUDA (LTRNN_CUDA)");
#endif
}

class FusedIntegration : public torch::autograd::Function<FusedIntegration> {
 public:
  // A and B arrive as [N, R]; the kernels read their transposes, rows of N.
  static variable_list forward(AutogradContext* ctx, const Tensor& x0, const Tensor& A, const Tensor& B,
                               const Tensor& c, const Tensor& W, const Tensor& drive, const Tensor& constant_drive,
                               const Tensor& inv_tau, Settings settings) {
    const auto dtype = x0.scalar_type();
    settings.inv_tau = inv_tau.item<double>();
    TORCH_CHECK(dtype == torch::kFloat32 || dtype == torch::kFloat64, "integrate_fused: float32 or float64 expected");
    const int64_t S = butcher_tableau(settings.solver).stages(), T = settings.n_bins;
    const int64_t steps = (T - 1) * settings.substeps, k = x0.size(0), N = x0.size(1);
    const bool dense = settings.dense;
    const Tensor At = dense ? Tensor() : A.detach().transpose(-1, -2).contiguous(),
                 Bt = dense ? Tensor() : B.detach().transpose(-1, -2).contiguous(),
                 c_ = settings.has_c ? plain(c) : Tensor(), W_ = dense ? plain(W) : Tensor(), drive_ = plain(drive),
                 constant_ = plain(constant_drive), x0_ = plain(x0);
    Tensor hidden = torch::empty({T, k, N}, x0.options());
    Tensor rates = torch::empty({T, k, N}, x0.options());
    Tensor stage_rates = torch::empty({steps, S, k, N}, x0.options());
    Tensor stage_projections = At.defined() ? torch::empty({steps, S, k, At.size(-2)}, x0.options()) : Tensor();
    Tensor stage_states = settings.learn_tau ? torch::empty({steps, S, k, N}, x0.options()) : Tensor();
    const Tensor slots_on_device = x0.is_cuda() ? slots_on(settings, x0.device()) : Tensor();
    const auto run = [&](auto zero) {
      using Scalar = decltype(zero);
      const auto p = problem<Scalar>(settings, At, Bt, c_, W_, drive_, constant_, hidden, rates, stage_rates,
                                     stage_projections, stage_states);
      if (x0.is_cuda()) {
        integrate_on_cuda<Scalar>(p, x0_.data_ptr<Scalar>(), slots_on_device.data_ptr<int64_t>());
        return;
      }
      for_each_group(k, [&](int64_t, int64_t begin, int64_t end) {
        integrate_trials<Scalar>(p, x0_.data_ptr<Scalar>(), begin, end);
      });
    };
    if (dtype == torch::kFloat32)
      run(float{});
    else
      run(double{});
    ctx->save_for_backward({At, Bt, c_, W_, drive_, constant_, rates, stage_rates, stage_projections, stage_states});
    ctx->saved_data["solver"] = static_cast<int64_t>(settings.solver);
    ctx->saved_data["n_bins"] = settings.n_bins;
    ctx->saved_data["substeps"] = settings.substeps;
    ctx->saved_data["dt"] = settings.dt;
    ctx->saved_data["inv_tau"] = settings.inv_tau;
    ctx->saved_data["input_slot"] = settings.input_slot;
    ctx->saved_data["dense"] = settings.dense;
    ctx->saved_data["has_c"] = settings.has_c;
    ctx->saved_data["learn_tau"] = settings.learn_tau;
    return {hidden, rates};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const Tensor At = plain(v[0]), Bt = plain(v[1]), c = plain(v[2]), W = plain(v[3]), drive = plain(v[4]),
                 constant_drive = plain(v[5]), rates = plain(v[6]), stage_rates = plain(v[7]),
                 stage_projections = plain(v[8]), stage_states = plain(v[9]);
    const auto& saved = ctx->saved_data;
    const Settings settings{static_cast<Solver>(saved.at("solver").toInt()),
                            saved.at("n_bins").toInt(),
                            saved.at("substeps").toInt(),
                            saved.at("dt").toDouble(),
                            saved.at("inv_tau").toDouble(),
                            saved.at("input_slot").toIntVector(),
                            saved.at("dense").toBool(),
                            saved.at("has_c").toBool(),
                            saved.at("learn_tau").toBool()};
    const Tensor grad_hidden = plain(grads[0]), grad_rates = plain(grads[1]);
    const int64_t k = rates.size(1), N = rates.size(2), R = At.defined() ? At.size(-2) : 0;
    // Each trial's own weights have per-trial gradients; shared ones are summed over groups.
    const bool per_trial = per_trial_weights(At, W);
    const bool shared_dense = W.defined() && W.dim() == 2;
    Tensor dx0 = torch::empty({k, N}, rates.options()), d_drive = torch::zeros_like(drive);
    Tensor dc = zeros_or_undefined(c), dW = zeros_or_undefined(W), dAt = zeros_or_undefined(At),
           dBt = zeros_or_undefined(Bt), d_constant = torch::zeros_like(constant_drive);
    Tensor d_inv_tau_per_trial = settings.learn_tau ? torch::zeros({k}, rates.options()) : Tensor();
    if (rates.is_cuda()) {
      // Every gradient per trial on the device; those of shared weights summed over trials here.
      Tensor dAt_trials = At.defined() ? (per_trial ? dAt : torch::zeros({k, R, N}, rates.options())) : Tensor();
      Tensor dBt_trials = Bt.defined() ? (per_trial ? dBt : torch::zeros({k, R, N}, rates.options())) : Tensor();
      Tensor dW_trials = W.defined() ? (per_trial ? dW : torch::zeros({k, N, N}, rates.options())) : Tensor();
      Tensor d_constant_trials = torch::zeros({k, N}, rates.options());
      const Tensor slots_on_device = slots_on(settings, rates.device());
      const auto run = [&](auto zero) {
        using Scalar = decltype(zero);
        const auto p = problem<Scalar>(settings, At, Bt, c, W, drive, constant_drive, Tensor(), rates, stage_rates,
                                       stage_projections, stage_states);
        DeviceTrialGradients<Scalar> out;
        out.dx0 = dx0.data_ptr<Scalar>();
        out.dc = data_or_null<Scalar>(dc);
        out.dAt = data_or_null<Scalar>(dAt_trials);
        out.dBt = data_or_null<Scalar>(dBt_trials);
        out.dW = data_or_null<Scalar>(dW_trials);
        out.d_drive = d_drive.data_ptr<Scalar>();
        out.d_constant = d_constant_trials.data_ptr<Scalar>();
        out.d_inv_tau = data_or_null<Scalar>(d_inv_tau_per_trial);
        adjoint_on_cuda<Scalar>(p, data_or_null<Scalar>(grad_hidden), data_or_null<Scalar>(grad_rates), out,
                                slots_on_device.data_ptr<int64_t>());
      };
      if (rates.scalar_type() == torch::kFloat32)
        run(float{});
      else
        run(double{});
      if (!per_trial) {
        if (dAt.defined()) dAt = dAt_trials.sum(0), dBt = dBt_trials.sum(0);
        if (shared_dense) dW = dW_trials.sum(0);
      }
      const Tensor dA = dAt.defined() ? dAt.transpose(-1, -2) : Tensor(),
                   dB = dBt.defined() ? dBt.transpose(-1, -2) : Tensor();
      const Tensor d_inv_tau = settings.learn_tau ? d_inv_tau_per_trial.sum() : Tensor();
      return {dx0, dA, dB, dc, dW, d_drive, d_constant_trials.sum(0), d_inv_tau, Tensor()};
    }
    const auto run = [&](auto zero) {
      using Scalar = decltype(zero);
      const auto p = problem<Scalar>(settings, At, Bt, c, W, drive, constant_drive, Tensor(), rates, stage_rates,
                                     stage_projections, stage_states);
      TrialGradients<Scalar> out;
      out.dx0 = dx0.data_ptr<Scalar>();
      out.dc = data_or_null<Scalar>(dc);
      out.dAt = per_trial ? data_or_null<Scalar>(dAt) : nullptr;
      out.dBt = per_trial ? data_or_null<Scalar>(dBt) : nullptr;
      out.dW = per_trial ? data_or_null<Scalar>(dW) : nullptr;
      out.d_inv_tau = data_or_null<Scalar>(d_inv_tau_per_trial);
      out.d_drive = d_drive.data_ptr<Scalar>();
      const int64_t shared_rank = per_trial ? 0 : R;
      std::vector<SharedGradients<Scalar>> shared(static_cast<std::size_t>(n_groups(k)),
                                                  SharedGradients<Scalar>(N, shared_rank, shared_dense));
      for_each_group(k, [&](int64_t group, int64_t begin, int64_t end) {
        adjoint_trials<Scalar>(p, data_or_null<Scalar>(grad_hidden), data_or_null<Scalar>(grad_rates), out,
                               shared[static_cast<std::size_t>(group)], begin, end);
      });
      Scalar* e = d_constant.data_ptr<Scalar>();
      Scalar* a = per_trial ? nullptr : data_or_null<Scalar>(dAt);
      Scalar* b = per_trial ? nullptr : data_or_null<Scalar>(dBt);
      Scalar* w = shared_dense ? data_or_null<Scalar>(dW) : nullptr;
      for (const auto& part : shared) {  // in group order: deterministic
        for (int64_t i = 0; i < shared_rank * N; ++i) a[i] += part.dAt[i], b[i] += part.dBt[i];
        for (std::size_t i = 0; i < part.dW.size(); ++i) w[i] += part.dW[i];
        for (int64_t i = 0; i < N; ++i) e[i] += part.d_constant[i];
      }
    };
    if (rates.scalar_type() == torch::kFloat32)
      run(float{});
    else
      run(double{});
    const Tensor dA = dAt.defined() ? dAt.transpose(-1, -2) : Tensor(),
                 dB = dBt.defined() ? dBt.transpose(-1, -2) : Tensor();
    // Summed in trial order: the same for any thread count.
    const Tensor d_inv_tau = settings.learn_tau ? d_inv_tau_per_trial.sum() : Tensor();
    return {dx0, dA, dB, dc, dW, d_drive, d_constant, d_inv_tau, Tensor()};
  }
};

}  // namespace

Trajectory integrate_fused(Solver solver, const FusedDynamics& d, const torch::Tensor& x0, int64_t n_bins, double dt,
                           int64_t substeps) {
  TORCH_CHECK(static_cast<int64_t>(d.input_slot.size()) == n_bins, "integrate_fused: one input slot per bin");
  const FusedWeights& w = d.weights;
  const bool dense = w.W.defined();
  TORCH_CHECK(dense != (w.A.defined() && w.B.defined()),
              "integrate_fused: the weights are either low rank (A, B and maybe c) or dense (W)");
  TORCH_CHECK(dense || (w.A.dim() == w.B.dim() && (w.A.dim() == 2 || w.A.dim() == 3)),
              "integrate_fused: A and B are both [N, R] or both [k, N, R]");
  TORCH_CHECK(d.inv_tau.defined() && d.inv_tau.dim() == 0, "integrate_fused: 1/tau is a scalar tensor");
  const bool learn_tau = torch::GradMode::is_enabled() && d.inv_tau.requires_grad();
  const Settings settings{solver, n_bins, substeps, dt, 0.0, d.input_slot, dense, w.c.defined(), learn_tau};
  // A custom autograd function takes defined tensors only: the other form's are empty.
  const torch::Tensor none = torch::empty({0}, x0.options());
  const auto given = [&](const torch::Tensor& t) { return t.defined() ? t : none; };
  const auto out = FusedIntegration::apply(x0, given(w.A), given(w.B), given(w.c), given(w.W), d.drive,
                                           d.constant_drive, d.inv_tau.to(x0.scalar_type()), settings);
  return Trajectory{out[0], out[1]};
}

}  // namespace ltrnn
