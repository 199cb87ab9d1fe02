// Forward and discrete-adjoint backward of the explicit Runge-Kutta solvers for the
// low-rank drift f(y) = (A ((tanh(y) B) * c) - y + e) / tau.
//
// A step with Butcher tableau (a, b) reads y_j = x + h sum_{i<j} a_ji k_i, k_j = f(y_j),
// x' = x + h sum_j b_j k_j. Given g' = dL/dx', the backward runs the stages in reverse:
// dL/dk_j = h b_j g' + sum_{l>j} h a_lj dL/dy_l and dL/dy_j = J_f(y_j)^T dL/dk_j, with
//   J_f(y)^T g = (1 - r^2) * (((G A) * c) B^T) - G,   G = g / tau, r = tanh(y),
// and dL/dx = g' + sum_j dL/dy_j. The parameter gradients of each evaluation are
//   dA += G^T ((r B) * c),  dB += r^T ((G A) * c),  dc += (G A) * (r B),  de += G.
// The forward keeps each stage's rates r_j and projections r_j B for the backward. The per-trial work is in
// low_rank_kernels.h; this file schedules it over threads and speaks autograd.
#include "model/low_rank_integration.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <atomic>

#include "model/low_rank_kernels.h"

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

template <class Scalar>
const Scalar* data(const Tensor& t) {
  return t.defined() ? t.data_ptr<Scalar>() : nullptr;
}

struct Settings {
  Solver solver;
  int64_t n_bins, substeps;
  double dt, inv_tau;
  std::vector<int64_t> input_slot;
};

// The kernels' view of one integration. Tensors must be contiguous and outlive it.
template <class Scalar>
LowRankProblem<Scalar> problem(const Settings& s, const Tensor& At, const Tensor& Bt, const Tensor& c,
                               const Tensor& drive, const Tensor& constant_drive, const Tensor& hidden,
                               const Tensor& rates, const Tensor& stage_rates, const Tensor& stage_projections) {
  LowRankProblem<Scalar> p;
  p.trials = c.size(0);
  p.N = At.size(1);
  p.R = At.size(0);
  p.n_bins = s.n_bins;
  p.substeps = s.substeps;
  p.tableau = butcher_tableau(s.solver);
  p.h = s.dt / static_cast<double>(s.substeps);
  p.inv_tau = s.inv_tau;
  p.input_slot = s.input_slot.data();
  p.At = data<Scalar>(At);
  p.Bt = data<Scalar>(Bt);
  p.c = data<Scalar>(c);
  p.drive = data<Scalar>(drive);
  p.drive_bins = drive.size(1);
  p.constant_drive = data<Scalar>(constant_drive);
  p.hidden = hidden.defined() ? hidden.data_ptr<Scalar>() : nullptr;
  p.rates = rates.data_ptr<Scalar>();
  p.stage_rates = stage_rates.data_ptr<Scalar>();
  p.stage_projections = stage_projections.data_ptr<Scalar>();
  return p;
}

class LowRankIntegration : public torch::autograd::Function<LowRankIntegration> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x0, const Tensor& A, const Tensor& B,
                               const Tensor& c, const Tensor& drive, const Tensor& constant_drive,
                               const Settings& settings) {
    const auto dtype = x0.scalar_type();
    TORCH_CHECK(dtype == torch::kFloat32 || dtype == torch::kFloat64,
                "integrate_low_rank: float32 or float64 expected");
    const int64_t S = butcher_tableau(settings.solver).stages(), T = settings.n_bins;
    const int64_t steps = (T - 1) * settings.substeps, k = x0.size(0), N = x0.size(1);
    const Tensor At = A.detach().t().contiguous(), Bt = B.detach().t().contiguous(), c_ = c.detach().contiguous(),
                 drive_ = drive.detach().contiguous(), constant_ = constant_drive.detach().contiguous(),
                 x0_ = x0.detach().contiguous();
    Tensor hidden = torch::empty({T, k, N}, x0.options());
    Tensor rates = torch::empty({T, k, N}, x0.options());
    Tensor stage_rates = torch::empty({steps, S, k, N}, x0.options());
    Tensor stage_projections = torch::empty({steps, S, k, At.size(0)}, x0.options());
    const auto run = [&](auto zero) {
      using Scalar = decltype(zero);
      const auto p =
          problem<Scalar>(settings, At, Bt, c_, drive_, constant_, hidden, rates, stage_rates, stage_projections);
      for_each_group(k, [&](int64_t, int64_t begin, int64_t end) {
        integrate_trials<Scalar>(p, x0_.data_ptr<Scalar>(), begin, end);
      });
    };
    if (dtype == torch::kFloat32)
      run(float{});
    else
      run(double{});
    ctx->save_for_backward({At, Bt, c_, drive_, constant_, rates, stage_rates, stage_projections});
    ctx->saved_data["solver"] = static_cast<int64_t>(settings.solver);
    ctx->saved_data["n_bins"] = settings.n_bins;
    ctx->saved_data["substeps"] = settings.substeps;
    ctx->saved_data["dt"] = settings.dt;
    ctx->saved_data["inv_tau"] = settings.inv_tau;
    ctx->saved_data["input_slot"] = settings.input_slot;
    return {hidden, rates};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const Tensor At = v[0].detach(), Bt = v[1].detach(), c = v[2].detach(), drive = v[3].detach(),
                 constant_drive = v[4].detach(), rates = v[5].detach(), stage_rates = v[6].detach(),
                 stage_projections = v[7].detach();
    const auto& saved = ctx->saved_data;
    const Settings settings{static_cast<Solver>(saved.at("solver").toInt()),
                            saved.at("n_bins").toInt(),
                            saved.at("substeps").toInt(),
                            saved.at("dt").toDouble(),
                            saved.at("inv_tau").toDouble(),
                            saved.at("input_slot").toIntVector()};
    const Tensor grad_hidden = grads[0].defined() ? grads[0].detach().contiguous() : Tensor();
    const Tensor grad_rates = grads[1].defined() ? grads[1].detach().contiguous() : Tensor();
    const int64_t k = rates.size(1), N = rates.size(2), R = At.size(0);
    Tensor dx0 = torch::empty({k, N}, rates.options()), dc = torch::zeros_like(c), d_drive = torch::zeros_like(drive);
    Tensor dAt = torch::zeros_like(At), dBt = torch::zeros_like(Bt), d_constant = torch::zeros_like(constant_drive);
    const auto run = [&](auto zero) {
      using Scalar = decltype(zero);
      const auto p =
          problem<Scalar>(settings, At, Bt, c, drive, constant_drive, Tensor(), rates, stage_rates, stage_projections);
      std::vector<SharedGradients<Scalar>> shared(static_cast<std::size_t>(n_groups(k)), SharedGradients<Scalar>(N, R));
      for_each_group(k, [&](int64_t group, int64_t begin, int64_t end) {
        adjoint_trials<Scalar>(p, data<Scalar>(grad_hidden), data<Scalar>(grad_rates), dx0.data_ptr<Scalar>(),
                               dc.data_ptr<Scalar>(), d_drive.data_ptr<Scalar>(),
                               shared[static_cast<std::size_t>(group)], begin, end);
      });
      Scalar *a = dAt.data_ptr<Scalar>(), *b = dBt.data_ptr<Scalar>(), *e = d_constant.data_ptr<Scalar>();
      for (const auto& part : shared) {  // in group order: deterministic
        for (int64_t i = 0; i < R * N; ++i) a[i] += part.dAt[i], b[i] += part.dBt[i];
        for (int64_t i = 0; i < N; ++i) e[i] += part.d_constant[i];
      }
    };
    if (rates.scalar_type() == torch::kFloat32)
      run(float{});
    else
      run(double{});
    return {dx0, dAt.t(), dBt.t(), dc, d_drive, d_constant, Tensor()};
  }
};

}  // namespace

Trajectory integrate_low_rank(Solver solver, const LowRankDynamics& d, const torch::Tensor& x0, int64_t n_bins,
                              double dt, int64_t substeps) {
  TORCH_CHECK(static_cast<int64_t>(d.input_slot.size()) == n_bins, "integrate_low_rank: one input slot per bin");
  const Settings settings{solver, n_bins, substeps, dt, d.inv_tau, d.input_slot};
  const auto out = LowRankIntegration::apply(x0, d.A, d.B, d.c, d.drive, d.constant_drive, settings);
  return Trajectory{out[0], out[1]};
}

}  // namespace ltrnn
