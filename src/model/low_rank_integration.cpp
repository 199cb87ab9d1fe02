// Forward and discrete-adjoint backward of the explicit Runge-Kutta solvers for the
// low-rank drift f(y) = (A ((tanh(y) B) * c) - y + e) / tau.
//
// A step with Butcher tableau (a, b) reads y_j = x + h sum_{i<j} a_ji k_i, k_j = f(y_j),
// x' = x + h sum_j b_j k_j. Given g' = dL/dx', the backward runs the stages in reverse:
// dL/dk_j = h b_j g' + sum_{l>j} h a_lj dL/dy_l and dL/dy_j = J_f(y_j)^T dL/dk_j, with
//   J_f(y)^T g = (1 - r^2) * (((G A) * c) B^T) - G,   G = g / tau, r = tanh(y),
// and dL/dx = g' + sum_j dL/dy_j. The parameter gradients of each evaluation are
//   dA += G^T ((r B) * c),  dB += r^T ((G A) * c),  dc += (G A) * (r B),  de += G.
// Only the stage rates r_j are kept from the forward pass.
#include "model/low_rank_integration.h"

#include <torch/torch.h>

namespace ltrnn {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Tableau {
  std::vector<std::vector<double>> a;  // a[j][i], i < j
  std::vector<double> b;
  int64_t stages() const { return static_cast<int64_t>(b.size()); }
};

Tableau tableau(Solver solver) {
  switch (solver) {
    case Solver::Euler: return {{{}}, {1.0}};
    case Solver::Heun: return {{{}, {1.0}}, {0.5, 0.5}};
    case Solver::RK4: return {{{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}}, {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}};
  }
  throw std::logic_error("tableau: unknown solver");
}

// The solver settings (kept in the autograd context's saved_data for the backward).
struct Setup {
  Solver solver;
  int64_t n_bins, substeps;
  double h, inv_tau;
  std::vector<int64_t> input_slot;
};

// The external drive of `bin`: [k, N] or, for bins without inputs, [N] (broadcast).
Tensor external_drive(const Tensor& drive, const Tensor& constant_drive, const std::vector<int64_t>& input_slot,
                      int64_t bin) {
  const int64_t slot = input_slot[bin];
  return slot >= 0 ? drive.select(1, slot) : constant_drive;
}

class LowRankIntegration : public torch::autograd::Function<LowRankIntegration> {
 public:
  static variable_list forward(AutogradContext* ctx, const Tensor& x0, const Tensor& A, const Tensor& B,
                               const Tensor& c, const Tensor& drive, const Tensor& constant_drive, const Setup& setup) {
    const Tableau tb = tableau(setup.solver);
    const int64_t S = tb.stages(), T = setup.n_bins, steps = (T - 1) * setup.substeps;
    const int64_t k = x0.size(0), N = x0.size(1);
    const Tensor At = A.t();
    Tensor hidden = torch::empty({T, k, N}, x0.options());
    Tensor rates = torch::empty({T, k, N}, x0.options());
    Tensor stage_rates = torch::empty({std::max<int64_t>(steps, 1), S, k, N}, x0.options());
    hidden[0].copy_(x0);
    Tensor x = x0.clone();
    std::vector<Tensor> slopes(S);
    Tensor y = torch::empty_like(x);
    int64_t step = 0;
    for (int64_t bin = 0; bin + 1 < T; ++bin) {
      const Tensor e = external_drive(drive, constant_drive, setup.input_slot, bin);
      for (int64_t s = 0; s < setup.substeps; ++s, ++step) {
        for (int64_t j = 0; j < S; ++j) {
          y.copy_(x);
          for (int64_t i = 0; i < j; ++i)
            if (tb.a[j][i] != 0) y.add_(slopes[i], setup.h * tb.a[j][i]);
          Tensor r = stage_rates[step][j];
          torch::tanh_out(r, y);
          const Tensor projected = r.mm(B).mul_(c);                        // (r B) * c   [k, R]
          slopes[j] = torch::addmm(e - y, projected, At).mul_(setup.inv_tau);  // f(y)  [k, N]
        }
        for (int64_t j = 0; j < S; ++j) x.add_(slopes[j], setup.h * tb.b[j]);
      }
      hidden[bin + 1].copy_(x);
    }
    torch::tanh_out(rates, hidden);
    ctx->save_for_backward({A, B, c, rates, stage_rates});
    ctx->saved_data["drive_shape"] = drive.sizes();
    ctx->saved_data["constant_drive_shape"] = constant_drive.sizes();
    ctx->saved_data["solver"] = static_cast<int64_t>(setup.solver);
    ctx->saved_data["n_bins"] = setup.n_bins;
    ctx->saved_data["substeps"] = setup.substeps;
    ctx->saved_data["h"] = setup.h;
    ctx->saved_data["inv_tau"] = setup.inv_tau;
    ctx->saved_data["input_slot"] = setup.input_slot;
    return {hidden, rates};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &A = saved[0], &B = saved[1], &c = saved[2], &rates = saved[3], &stage_rates = saved[4];
    const auto& data = ctx->saved_data;
    const Setup setup{static_cast<Solver>(data.at("solver").toInt()), data.at("n_bins").toInt(),
                      data.at("substeps").toInt(), data.at("h").toDouble(), data.at("inv_tau").toDouble(),
                      data.at("input_slot").toIntVector()};
    const Tableau tb = tableau(setup.solver);
    const int64_t S = tb.stages(), T = setup.n_bins;
    const Tensor &grad_hidden = grads[0], &grad_rates = grads[1];
    const auto options = rates.options();

    Tensor dA = torch::zeros_like(A), dB = torch::zeros_like(B), dc = torch::zeros_like(c);
    Tensor d_drive = torch::zeros(ctx->saved_data["drive_shape"].toIntVector(), options);
    Tensor d_constant = torch::zeros(ctx->saved_data["constant_drive_shape"].toIntVector(), options);
    Tensor g = torch::zeros({rates.size(1), rates.size(2)}, options);  // dL/dx at the current state
    const auto add_output_grads = [&](int64_t t) {
      if (grad_hidden.defined()) g.add_(grad_hidden[t]);
      if (grad_rates.defined()) g.add_(grad_rates[t] * (1 - rates[t].square()));
    };
    std::vector<Tensor> g_slope(S);
    int64_t step = (T - 1) * setup.substeps;
    for (int64_t bin = T - 2; bin >= 0; --bin) {
      add_output_grads(bin + 1);
      const int64_t slot = setup.input_slot[bin];
      for (int64_t s = setup.substeps - 1; s >= 0; --s) {
        --step;
        for (int64_t j = 0; j < S; ++j) g_slope[j] = g * (setup.h * tb.b[j]);
        Tensor gx = g.clone();
        for (int64_t j = S - 1; j >= 0; --j) {
          const Tensor r = stage_rates[step][j];
          const Tensor G = g_slope[j] * setup.inv_tau;
          const Tensor GA = G.mm(A);  // [k, R]
          const Tensor rB = r.mm(B);  // [k, R]
          dA.addmm_(G.t(), rB * c);
          const Tensor GAc = GA * c;
          dB.addmm_(r.t(), GAc);
          dc.addcmul_(GA, rB);
          if (slot >= 0) d_drive.select(1, slot).add_(G);
          else d_constant.add_(G.sum(0));
          Tensor gy = GAc.mm(B.t());
          gy.mul_(1 - r.square()).sub_(G);  // J_f(y_j)^T dL/dk_j
          gx.add_(gy);
          for (int64_t i = 0; i < j; ++i)
            if (tb.a[j][i] != 0) g_slope[i].add_(gy, setup.h * tb.a[j][i]);
        }
        g = gx;
      }
    }
    add_output_grads(0);
    return {g, dA, dB, dc, d_drive, d_constant, Tensor()};
  }

};

}  // namespace

Trajectory integrate_low_rank(Solver solver, const LowRankDynamics& d, const torch::Tensor& x0, int64_t n_bins,
                              double dt, int64_t substeps) {
  const Setup setup{solver, n_bins, substeps, dt / static_cast<double>(substeps), d.inv_tau, d.input_slot};
  const auto out = LowRankIntegration::apply(x0, d.A, d.B, d.c, d.drive, d.constant_drive, setup);
  return Trajectory{out[0], out[1]};
}

}  // namespace ltrnn
