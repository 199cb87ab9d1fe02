// The teacher's variants outside the fitted class (docs/recovery.md): a held preparatory
// period, no readout offset, its own integrator, a saturating readout; and their refusals.
#include "sim/teacher.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "util/errors.h"

namespace ltrnn {
namespace {

TeacherConfig small_teacher() {
  TeacherConfig c;
  c.rank = 2;
  c.hidden = 16;
  c.neurons = 12;
  c.conditions = 3;
  c.trials_per_epoch = 6;
  c.bins = 20;
  c.preparatory_bins = 5;
  c.seed = 7;
  return c;
}

TEST(Teacher, HeldPreparatoryPeriodRepeatsTheStateAtTimeZero) {
  TeacherConfig c = small_teacher();
  c.preparatory = PreparatoryActivity::Held;
  const TeacherData held = simulate_teacher(c);
  const torch::Tensor& r = held.rates;  // [T, K, D]
  ASSERT_EQ(r.size(0), c.bins);
  for (int64_t t = 0; t < c.preparatory_bins; ++t) EXPECT_TRUE(torch::equal(r[t], r[c.preparatory_bins])) << t;
  EXPECT_GT((r[c.preparatory_bins + 1] - r[c.preparatory_bins]).abs().max().item<double>(), 1e-6);
  // At t = 0 every trial of a condition is at the condition's initial state, however its
  // weights W(k) differ: no dynamics ran before.
  const int64_t K = held.dataset.n_trials();
  for (int64_t k = c.conditions; k < K; ++k)
    EXPECT_LT((r[c.preparatory_bins][k] - r[c.preparatory_bins][k % c.conditions]).abs().max().item<double>(), 1e-12);
  // Driven by inputs instead, the state at t = 0 depends on the trial's weights.
  const TeacherData driven = simulate_teacher(small_teacher());
  const torch::Tensor& d = driven.rates;
  EXPECT_GT((d[c.preparatory_bins][K - 1] - d[c.preparatory_bins][(K - 1) % c.conditions]).abs().max().item<double>(),
            1e-6);
  EXPECT_GT((d[1] - d[0]).abs().max().item<double>(), 1e-6);
}

// Sessions record from one pool of neurons: each session's columns are the pool's neurons it
// records (on its trials), consecutive sessions share all but the replaced fraction, and the
// rest of each column is missing.
TEST(Teacher, SessionsRecordTheirOwnNeuronsOfOnePool) {
  TeacherConfig c = small_teacher();
  c.sessions = 3;
  c.turnover = 0.5;  // 6 of 12 neurons replaced per session: a pool of 12 + 2 x 6 = 24
  const TeacherData sessions = simulate_teacher(c);
  TeacherConfig pool_config = small_teacher();
  pool_config.neurons = 24;
  const TeacherData pool = simulate_teacher(pool_config);  // the same draws: the same pool
  const Dataset& d = sessions.dataset;
  ASSERT_EQ(d.data.sizes(), (std::vector<int64_t>{c.bins, 18, 36}));
  ASSERT_EQ(d.sessions.size(), 3u);
  ASSERT_EQ(sessions.unit.size(0), 36);
  using torch::indexing::Slice;
  torch::Tensor expected_missing = torch::ones({c.bins, 18, 36}, torch::kBool);
  for (int64_t s = 0; s < 3; ++s) {
    const SessionSpan& span = d.sessions[s];
    EXPECT_EQ(span.first_trial, 6 * s);
    EXPECT_EQ(span.trials, 6);
    EXPECT_EQ(span.first_neuron, 12 * s);
    const torch::Tensor units = sessions.unit.narrow(0, 12 * s, 12);
    const auto rows = Slice(6 * s, 6 * s + 6);
    EXPECT_TRUE(torch::equal(d.data.index({Slice(), rows, Slice(12 * s, 12 * s + 12)}),
                             pool.dataset.data.index({Slice(), rows}).index_select(2, units)))
        << span.name;
    EXPECT_TRUE(torch::equal(sessions.readout.narrow(0, 12 * s, 12), pool.readout.index_select(0, units)));
    expected_missing.index_put_({Slice(), rows, Slice(12 * s, 12 * s + 12)}, false);
    if (s == 0) continue;
    // Half of the previous session's neurons stay; the others are new to the pool.
    const torch::Tensor previous = sessions.unit.narrow(0, 12 * (s - 1), 12);
    EXPECT_EQ(torch::isin(units, previous).sum().item<int64_t>(), 6) << span.name;
    EXPECT_EQ(torch::isin(units, sessions.unit.narrow(0, 0, 12 * s)).sum().item<int64_t>(), 6) << span.name;
  }
  EXPECT_TRUE(torch::equal(d.missing, expected_missing));
  EXPECT_EQ(sessions.unit.max().item<int64_t>(), 23);
}

TEST(Teacher, WithoutReadoutOffsetDiffersByAConstantPerNeuron) {
  TeacherConfig c = small_teacher();
  c.noise = 0;
  const TeacherData with = simulate_teacher(c);
  c.readout_offset = false;
  const TeacherData without = simulate_teacher(c);
  const torch::Tensor difference = with.rates - without.rates;  // [T, K, D]
  const torch::Tensor per_neuron = difference[0][0];
  EXPECT_GT(per_neuron.abs().max().item<double>(), 1e-3);
  EXPECT_LT((difference - per_neuron).abs().max().item<double>(), 1e-12);
}

TEST(Teacher, OwnIntegratorConvergesToTheSameDynamics) {
  // Euler with many substeps and RK4 with two approximate the same ODE; one Euler step per
  // bin is further from both (tau = 2 bins: fast dynamics).
  TeacherConfig c = small_teacher();
  c.noise = 0;
  c.tau = 2 * c.bin_width;
  const TeacherData rk4 = simulate_teacher(c);
  c.solver = Solver::Euler;
  c.substeps = 64;
  const TeacherData fine_euler = simulate_teacher(c);
  c.substeps = 1;
  const TeacherData coarse_euler = simulate_teacher(c);
  const double scale = rk4.rates.abs().max().item<double>();
  const double fine = (fine_euler.rates - rk4.rates).abs().max().item<double>() / scale;
  const double coarse = (coarse_euler.rates - rk4.rates).abs().max().item<double>() / scale;
  EXPECT_LT(fine, 0.02);
  EXPECT_GT(coarse, 5 * fine);
}

TEST(Teacher, SaturatingReadoutIsTanhOfTheLinearOne) {
  TeacherConfig c = small_teacher();
  const TeacherData linear = simulate_teacher(c);
  c.saturation = 0.7;
  const TeacherData saturated = simulate_teacher(c);
  const torch::Tensor y = linear.rates;
  const torch::Tensor m = y.mean(torch::IntArrayRef{0, 1});
  const double s = 0.7 * y.std().item<double>();
  EXPECT_TRUE(torch::allclose(saturated.rates, m + s * torch::tanh((y - m) / s), 1e-12, 1e-12));
  EXPECT_LT(((saturated.rates - m).abs() - s).max().item<double>(), 0);
}

TEST(Teacher, RefusesVariantsThatDoNotApply) {
  const auto message_of = [](const TeacherConfig& c) {
    try {
      simulate_teacher(c);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  TeacherConfig c = small_teacher();
  c.spikes = true;
  c.saturation = 0.5;
  EXPECT_NE(message_of(c).find("--saturation"), std::string::npos) << message_of(c);
  c.saturation = 0;
  c.readout_offset = false;
  EXPECT_NE(message_of(c).find("--readout-offset"), std::string::npos) << message_of(c);
  c = small_teacher();
  c.substeps = 0;
  EXPECT_NE(message_of(c).find("--substeps: must be >= 1"), std::string::npos) << message_of(c);
}

}  // namespace
}  // namespace ltrnn
