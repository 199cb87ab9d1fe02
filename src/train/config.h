// Training options (docs/design.md section 4): one struct, its fields listed once.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/schedule.h"
#include "util/fields.h"

namespace ltrnn {

// Data term: mean squared error (rates), Poisson NLL (integer counts), or chosen by dtype.
enum class LossKind { Auto, MSE, Poisson };
template <>
const std::vector<std::pair<LossKind, std::string>>& EnumNames<LossKind>::table();

// Where a fit computes: the CPU, a CUDA device, or a CUDA device when there is one.
enum class DeviceKind { Cpu, Cuda, Auto };
template <>
const std::vector<std::pair<DeviceKind, std::string>>& EnumNames<DeviceKind>::table();

// When the plateau rule stops a fit (train/termination.h).
struct PlateauOptions {
  int64_t iterations = 2000;  // the cap
  int64_t window = 0;         // S: iterations in the plateau test (0 disables it)
  double threshold = 1e-5;    // stop when std(normalised held-out loss over last S) < this
  int64_t patience = 0;       // stop after this many iterations without a new best (0: off)
};

// Training: Adam on the masked loss with the learning rate halved on plateaus until it has
// converged (train/schedule.h) or for polish_after iterations, then a full-batch L-BFGS
// polish to the optimum; stopped at the cap or by the optional plateau and patience rules.
struct TrainConfig {
  int64_t iterations = 2000;        // iteration cap
  double learning_rate = 0.01;      // Adam step size (at the start)
  int64_t lr_patience = 80;         // iterations without a relative improvement before the rate is reduced (0: off)
  double lr_factor = 0.5;           // multiplier of the rate at each reduction
  int64_t lr_reductions = 2;        // reductions before the next plateau means converged
  double min_improvement = 1e-3;    // relative improvement of the best held-out loss that counts
  int64_t polish_after = 500;       // Adam iterations after which the L-BFGS polish starts at the latest (0: no polish)
  int64_t polish_patience = 20;     // polish iterations without a relative improvement before it has converged
  double polish_tolerance = 1e-4;   // relative improvement of the best held-out loss that counts in the polish
  int64_t polish_history = 100;     // L-BFGS curvature pairs kept by the polish (docs/recovery.md)
  bool ladder = true;               // the rank ladder: each rank also fitted from its neighbours' best fits
  int64_t more_starts = 4;          // seeds added once to a rank that lost narrowly while its fits disagree
  double fraction_masked = 0.1;     // trials dropped from the training loss each iteration
  double l2_hidden = 1e-3;          // weight of mean(x^2) over hidden activity
  double l2_inputs = 1e-3;          // weight of mean((A u)^2) over inputs
  int64_t plateau_window = 0;       // S: iterations in the plateau test (0 disables it)
  double plateau_threshold = 1e-5;  // stop when std(held-out loss over last S) < this (validation, else test)
  int64_t patience = 0;             // stop after this many iterations without a new best held-out loss (0: off)
  int64_t checkpoint_every = 100;   // M: iterations between checkpoints
  int64_t tau_pilot_iterations = 50;  // each short fit choosing tau's start (train/tau_pilot.h; 0: off)
  LossKind loss = LossKind::Auto;
  bool float64 = false;  // compute in double precision
  int64_t seed = 0;
  int64_t threads = 0;  // intra-op threads (0: LibTorch's default)
  // cpu, cuda or auto (cuda when this build has it and a device is present). Like threads,
  // it does not change what is fitted (the numbers agree to the precision's rounding), so
  // a run started on one device may be resumed on another.
  DeviceKind device = DeviceKind::Cpu;
  bool tf32 = false;  // CUDA: TensorFloat-32 in matrix products (faster, ~1e-3 relative)

  PlateauOptions plateau_options() const { return {iterations, plateau_window, plateau_threshold, patience}; }
  ScheduleOptions schedule_options() const { return {lr_patience, lr_factor, lr_reductions, min_improvement}; }
  // The polish's convergence rule: the schedule's plateau test with no reductions.
  ScheduleOptions polish_options() const { return {polish_patience, 1.0, 0, polish_tolerance}; }

  template <class Self, class Visitor>
  static void fields(Self& c, Visitor& v) {
    v.field("iterations", c.iterations, "iteration cap");
    v.field("learning_rate", c.learning_rate, "Adam learning rate at the start");
    v.field("lr_patience", c.lr_patience,
            "iterations without a relative improvement of min_improvement in the best held-out loss (validation, else "
            "test) before the learning rate is multiplied by lr_factor; after lr_reductions reductions the next such "
            "plateau stops the fit as converged. 0: constant rate and no convergence rule");
    v.field("lr_factor", c.lr_factor, "learning-rate multiplier at each reduction");
    v.field("lr_reductions", c.lr_reductions, "reductions after which the next plateau stops the fit as converged");
    v.field("min_improvement", c.min_improvement, "relative improvement of the best held-out loss that counts");
    v.field("polish_after", c.polish_after,
            "the fit goes on from Adam's best iterate with full-batch L-BFGS (strong Wolfe line search, no trial "
            "dropout) when Adam's schedule has converged or after this many Adam iterations, whichever comes first, "
            "until the polish converges or the iteration cap; every rank is then compared at its optimum rather than "
            "at Adam's noise floor. 0: no polish");
    v.field("polish_patience", c.polish_patience,
            "polish iterations without a relative improvement of polish_tolerance in the best held-out loss after "
            "which the polish, and the fit, has converged");
    v.field("polish_tolerance", c.polish_tolerance,
            "relative improvement of the best held-out loss that counts in "
            "the polish");
    v.field("polish_history", c.polish_history,
            "curvature pairs (s, y) the polish's L-BFGS keeps: more pairs model the objective's curvature over more "
            "directions, at O(pairs x parameters) work per iteration");
    v.field("ladder", c.ladder,
            "the rank ladder, for families whose W(k) is a sum of components and two or more ranks: each rank is "
            "also fitted, by the polish alone, from the best fit of the rank below plus a new component that "
            "contributes nothing yet (its loss can only improve) and from the best fit of the rank above less its "
            "weakest component, so that the selected rank does not depend on which start a seed drew. Runs alone "
            "(not in --shard or distributed groups)");
    v.field("more_starts", c.more_starts,
            "seeds added, once, to each rank that lost the selection narrowly (by at most 3 standard errors of the "
            "difference) while its fits disagree by more than the sampling error of that difference: the seeds "
            "after the experiment's last, fitted once every planned run has finished, and the rank selected again "
            "(results.json more_starts says which). Groups with two or more ranks, not distributed; runs alone "
            "(not in --shard). 0: none");
    v.field("fraction_masked", c.fraction_masked, "fraction of trials dropped from the training loss each iteration");
    v.field("l2_hidden", c.l2_hidden, "weight of the L2 penalty mean(x^2) on hidden activity");
    v.field("l2_inputs", c.l2_inputs, "weight of the L2 penalty mean((A u)^2) on inputs");
    v.field("plateau_window", c.plateau_window,
            "S: stop when the std of the normalised held-out loss over the last S iterations is below "
            "plateau_threshold (the reference implementation's rule; an absolute threshold); 0 disables");
    v.field("plateau_threshold", c.plateau_threshold, "threshold of the plateau rule");
    v.field("patience", c.patience,
            "stop after this many iterations without a new best held-out loss (validation, else test); 0 disables");
    v.field("checkpoint_every", c.checkpoint_every, "iterations between checkpoints");
    v.field("tau_pilot_iterations", c.tau_pilot_iterations,
            "with learn_tau: iterations of each of four short fits from the same initial parameters with the time "
            "constant starting at 0.3, 1, 3 and 10 times tau; the fit starts from the one with the lowest held-out "
            "loss. Run only when the four take at most a third of the iteration cap. 0: off");
    v.field("loss", c.loss, "data term: auto (poisson for integer counts, else mse), mse or poisson");
    v.field("float64", c.float64, "compute in double precision");
    v.field("seed", c.seed, "random seed (model initialisation and trial dropout)");
    v.field("threads", c.threads, "intra-op threads (0: LibTorch default)");
    v.field("device", c.device,
            "where to compute: cpu (default), cuda, or auto (cuda when this ltrnn was built with CUDA and a device is "
            "present)");
    v.field("tf32", c.tf32, "CUDA only: allow TensorFloat-32 in matrix products (faster, about 1e-3 relative error)");
  }
};

// Checks values a JSON type cannot; InputError naming `pointer` + "/field".
void validate(const TrainConfig& c, const std::string& pointer);

}  // namespace ltrnn
