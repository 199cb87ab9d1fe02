// The tensor-rank model: factorised recurrent term vs the dense weights, the GP prior,
// and loss gradients vs central finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "model/components.h"
#include "model/families/tensor_rank.h"
#include "model/family.h"
#include "model/ltrnn_model.h"
#include "model/test_models.h"
#include "train/fit.h"
#include "util/errors.h"

namespace ltrnn {
namespace {
using testing::randomise_parameters;
using testing::tiny_config;
using testing::tiny_dataset;

const TensorRankWeightsImpl& tensor_rank_weights(const RnnModel& model) {
  return dynamic_cast<const TensorRankWeightsImpl&>(*model->weights_);
}

TEST(TensorRankFactors, WeightsAreSumsOfOuterProducts) {
  torch::manual_seed(0);
  const TensorRankFactors f{torch::randn({5, 3}, torch::kFloat64), torch::randn({5, 3}, torch::kFloat64),
                            torch::randn({4, 3}, torch::kFloat64)};
  const torch::Tensor W = f.weights();
  for (int64_t k = 0; k < 4; ++k) {
    torch::Tensor expected = torch::zeros({5, 5}, torch::kFloat64);
    for (int64_t r = 0; r < 3; ++r) expected += f.trial[k][r] * torch::outer(f.column.select(1, r), f.row.select(1, r));
    EXPECT_TRUE(torch::allclose(W[k], expected, 1e-12, 1e-12));
  }
}

TEST(TensorRankModel, FactorisedRecurrentTermEqualsDenseProduct) {
  torch::manual_seed(1);
  const Dataset ds = tiny_dataset(6, 7, 3);
  const ModelConfig config = tiny_config(3, 8);
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  const torch::Tensor trials = torch::tensor({6, 0, 3}, torch::kInt64);
  const torch::Tensor rates = torch::tanh(torch::randn({3, 8}, torch::kFloat64));
  const TensorRankFactors f = tensor_rank_weights(model).factors();
  const torch::Tensor factorised =
      TensorRankWeightsImpl::recurrent_term(rates, f.column, f.row, f.trial.index_select(0, trials));
  const torch::Tensor dense = model->weights(trials).matmul(rates.unsqueeze(2)).squeeze(2);  // W(k) phi_k
  EXPECT_TRUE(torch::allclose(factorised, dense, 1e-12, 1e-12));
  // Factors have unit-norm columns.
  EXPECT_TRUE(torch::allclose(f.column.norm(2, torch::IntArrayRef{0}), torch::ones({3}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(f.row.norm(2, torch::IntArrayRef{0}), torch::ones({3}, torch::kFloat64)));
}

TEST(TensorRankModel, SimulationMatchesAnExplicitDenseEulerLoop) {
  torch::manual_seed(2);
  const Dataset ds = tiny_dataset(6, 4, 3);
  ModelConfig config = tiny_config(2, 5);
  config.solver = Solver::Euler;
  config.recurrent_bias = true;
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  const auto out = model->simulate(torch::arange(4, torch::kInt64));
  const TensorRankFactors f = tensor_rank_weights(model).factors();
  const torch::Tensor W = f.weights();
  const double dt = ds.bin_width(), tau = model->tau();
  for (int64_t k = 0; k < 4; ++k) {
    const int64_t c = ds.condition[k].item<int64_t>();
    torch::Tensor x = f.column.matmul(model->initial_state[c]);
    for (int64_t t = 0; t < 6; ++t) {
      EXPECT_TRUE(torch::allclose(out.hidden[t][k], x, 1e-10, 1e-10)) << "trial " << k << " bin " << t;
      const torch::Tensor y = model->readout_matrix().matmul(torch::tanh(x)) + model->readout_bias;
      EXPECT_TRUE(torch::allclose(out.prediction[t][k], y, 1e-10, 1e-10));
      const torch::Tensor u = t < 3 ? model->inputs[c][t] : torch::zeros({2}, torch::kFloat64);
      const torch::Tensor drive = f.column.matmul(u + model->bias);
      x = x + dt / tau * (-x + W[k].matmul(torch::tanh(x)) + drive);
    }
  }
}

TEST(TensorRankModel, InputsLiveInSpanOfAWhateverInputRankSays) {
  // input_rank is for the other families; tensor_rank's inputs always use the R columns of A.
  const Dataset ds = tiny_dataset(6, 4, 3);
  ModelConfig config = tiny_config(2, 5);
  config.input_rank = 3;
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  EXPECT_EQ(model->initial_state.size(1), 2);
  EXPECT_EQ(model->simulate(torch::arange(4, torch::kInt64)).hidden.sizes(), (torch::IntArrayRef{6, 4, 5}));
}

TEST(TrialKernel, RationalQuadraticWithEpochDiscontinuity) {
  ModelConfig config;
  config.gp_length = 2.0;
  config.gp_scale = 1.5;
  config.gp_alpha = 0.5;
  const torch::Tensor ids = torch::tensor({0, 1, 4}, torch::kInt64);
  const torch::Tensor epoch = torch::tensor({0, 0, 1}, torch::kInt64);
  torch::Tensor k = trial_kernel(config.trial_prior_config(), ids, epoch);
  // sigma^2 (1 + d^2 / (2 alpha l^2))^-alpha with d = 1: 2.25 * (1 + 1/4)^-0.5
  EXPECT_NEAR(k[0][1].item<double>(), 2.25 * std::pow(1.25, -0.5), 1e-12);
  EXPECT_NEAR(k[0][2].item<double>(), 2.25 * std::pow(1.0 + 16.0 / 4.0, -0.5), 1e-12);
  config.discontinuous_epochs = true;
  k = trial_kernel(config.trial_prior_config(), ids, epoch);
  EXPECT_EQ(k[0][2].item<double>(), 0.0);
  EXPECT_EQ(k[1][2].item<double>(), 0.0);
  EXPECT_GT(k[0][1].item<double>(), 0.0);
  config.kernel = KernelKind::SquaredExponential;
  k = trial_kernel(config.trial_prior_config(), ids, epoch);
  EXPECT_NEAR(k[0][1].item<double>(), 2.25 * std::exp(-1.0 / 8.0), 1e-12);
}

TEST(TrialKernel, SessionDiscontinuityZeroesOnlyAcrossSessions) {
  ModelConfig config;
  const torch::Tensor ids = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  const torch::Tensor epoch = torch::zeros({4}, torch::kInt64);
  const torch::Tensor session = torch::tensor({0, 0, 1, 1}, torch::kInt64);
  const torch::Tensor continuous = trial_kernel(config.trial_prior_config(), ids, epoch, session);
  EXPECT_GT(continuous[1][2].item<double>(), 0.0);  // neighbours across the boundary, smoothed
  config.discontinuous_sessions = true;
  const torch::Tensor broken = trial_kernel(config.trial_prior_config(), ids, epoch, session);
  EXPECT_EQ(broken[1][2].item<double>(), 0.0);
  EXPECT_EQ(broken[0][3].item<double>(), 0.0);
  EXPECT_EQ(broken[0][1].item<double>(), continuous[0][1].item<double>());
  EXPECT_EQ(broken[2][3].item<double>(), continuous[2][3].item<double>());
}

// Central differences of the objective for a sample of entries of every parameter.
void expect_gradients_match_finite_differences(ModelConfig config, LossKind loss) {
  torch::manual_seed(3);
  Dataset ds = tiny_dataset(6, 5, 3);
  if (loss == LossKind::Poisson) ds.data = torch::randint(0, 4, ds.data.sizes(), torch::kFloat64);
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  model->exp_link = loss == LossKind::Poisson;
  const torch::Tensor train = torch::rand(ds.data.sizes(), torch::kFloat64) < 0.7;
  const FitTarget target = make_fit_target(ds.data, Masks{train, {}, ~train}, loss, false, torch::kFloat64);
  TrainConfig tc;
  tc.l2_hidden = 0.1;
  tc.l2_inputs = 0.1;
  const torch::Tensor kept = torch::tensor({true, false, true, true, true});

  model->zero_grad();
  objective(model, target, tc, kept).backward();
  const double h = 1e-6;
  for (auto& item : model->named_parameters()) {
    torch::Tensor p = item.value();
    if (!p.requires_grad()) continue;
    const torch::Tensor grad = p.grad().clone();
    torch::Tensor flat = p.view({-1});
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 6)) {
      double plus, minus;
      {
        torch::NoGradGuard no_grad;
        const double original = flat[i].item<double>();
        flat[i].fill_(original + h);
        plus = objective(model, target, tc, kept).item<double>();
        flat[i].fill_(original - h);
        minus = objective(model, target, tc, kept).item<double>();
        flat[i].fill_(original);
      }
      const double numeric = (plus - minus) / (2 * h);
      const double analytic = grad.view({-1})[i].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << item.key() << "[" << i << "]";
    }
  }
}

TEST(TensorRankModel, GradientsMatchFiniteDifferencesGpPriorLinearReadout) {
  ModelConfig config = tiny_config(2, 4);
  config.recurrent_bias = true;
  expect_gradients_match_finite_differences(config, LossKind::MSE);
}

TEST(TensorRankModel, GradientsMatchFiniteDifferencesWithTrialInputsAndFreeInitialStates) {
  ModelConfig config = tiny_config(2, 4);
  config.trial_inputs = true;
  config.free_initial_states = true;
  expect_gradients_match_finite_differences(config, LossKind::MSE);
}

// docs/design.md section 1, "Trial inputs": with x_c = A s_c, the inputs u_c = s_c and
// v[c,r] = -(b_r . phi(x_c)) hold every trial's state at x_c through the preparatory bins,
// whatever its trial factors; per-condition inputs alone cannot.
TEST(TensorRankModel, TrialInputsHoldAPreparatoryStateStillOnEveryTrial) {
  torch::manual_seed(12);
  const Dataset ds = tiny_dataset(8, 6, 3);  // bins 0-2 have t < 0
  ModelConfig config = tiny_config(2, 5);
  config.trial_prior = TrialPrior::Free;
  config.trial_inputs = true;
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  auto& weights = dynamic_cast<TensorRankWeightsImpl&>(*model->weights_);
  torch::NoGradGuard no_grad;
  weights.trial_prior->set_free_values(1 + torch::randn({6, 2}, torch::kFloat64));  // W(k) differs per trial
  const torch::Tensor A = weights.column_factors(), B = weights.row_factors();
  const torch::Tensor x_c = model->initial_state.matmul(A.t());  // [C, N]
  const torch::Tensor held_input = model->initial_state.unsqueeze(1).expand_as(model->inputs);
  model->inputs.copy_(held_input);
  model->trial_inputs.copy_(-torch::tanh(x_c).matmul(B));  // [C, R]

  const torch::Tensor trials = torch::arange(6, torch::kInt64);
  const torch::Tensor start = x_c.index_select(0, ds.condition);  // [K, N]
  const auto drift_in_preparation = [&](RnnModel& m) {
    const torch::Tensor hidden = m->simulate(trials).hidden;                          // [T, K, N]
    return (hidden.narrow(0, 0, 4) - start.unsqueeze(0)).abs().max().item<double>();  // states up to t = 0
  };
  EXPECT_LT(drift_in_preparation(model), 1e-12);
  model->trial_inputs.zero_();
  EXPECT_GT(drift_in_preparation(model), 1e-3);
}

TEST(TensorRankModel, GradientsMatchFiniteDifferencesOrthonormalReadoutRk4) {
  ModelConfig config = tiny_config(2, 4);
  config.readout = ReadoutKind::Orthonormal;
  config.solver = Solver::RK4;
  config.substeps = 2;
  config.discontinuous_epochs = true;
  expect_gradients_match_finite_differences(config, LossKind::MSE);
}

TEST(TensorRankModel, GradientsMatchFiniteDifferencesPoissonFreeTrialFactors) {
  ModelConfig config = tiny_config(1, 3);
  config.trial_prior = TrialPrior::Free;
  config.inputs_during_execution = true;
  expect_gradients_match_finite_differences(config, LossKind::Poisson);
}

TEST(TensorRankModel, ParameterCountFollowsTheParameterisation) {
  const Dataset ds = tiny_dataset(6, 5, 3);
  ModelConfig config = tiny_config(2, 4);
  config.trial_prior = TrialPrior::Free;
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  // R (2N + K) weights + C R initial states + C T_in R inputs + D N readout + D baseline + log tau
  const int64_t expected = 2 * (2 * 4 + 5) + 2 * 2 + 2 * 3 * 2 + 3 * 4 + 3 + 1;
  EXPECT_EQ(model->n_params(), expected);
}

// The rank ladder's starts (model/components.h).
RnnModel model_of_rank(const Dataset& ds, int64_t rank, TrialPrior prior, uint64_t seed) {
  torch::manual_seed(seed);
  ModelConfig config = tiny_config(rank, 6);
  config.trial_prior = prior;
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  return model;
}

torch::Tensor all_trials(const Dataset& ds) { return torch::arange(ds.n_trials(), torch::kInt64); }

TEST(RankLadderStart, AddedComponentsStartAtTheSourceFitsSimulation) {
  const Dataset ds = tiny_dataset(7, 6, 3);
  for (const TrialPrior prior : {TrialPrior::GaussianProcess, TrialPrior::Free}) {
    RnnModel source = model_of_rank(ds, 2, prior, 11);
    RnnModel target = model_of_rank(ds, 4, prior, 12);
    const torch::Tensor drawn_columns = tensor_rank_weights(target).column_factors().narrow(1, 2, 2).detach().clone();
    start_from_neighbouring_rank(target, source);
    torch::NoGradGuard no_grad;
    // The same trajectories and weights: the new components contribute nothing yet.
    EXPECT_TRUE(torch::allclose(target->simulate(all_trials(ds)).linear, source->simulate(all_trials(ds)).linear, 1e-12,
                                1e-12));
    EXPECT_TRUE(torch::allclose(target->weights(all_trials(ds)), source->weights(all_trials(ds)), 1e-12, 1e-12));
    const TensorRankWeightsImpl& w = tensor_rank_weights(target);
    EXPECT_TRUE(torch::equal(w.trial_factors().narrow(1, 2, 2), torch::zeros({6, 2}, torch::kFloat64)));
    // Their directions are the target's own draws (unit columns), not zeros.
    EXPECT_TRUE(torch::allclose(w.column_factors().narrow(1, 2, 2), drawn_columns, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(w.column_factors().narrow(1, 0, 2), tensor_rank_weights(source).column_factors(), 1e-12,
                                1e-12));
  }
}

TEST(RankLadderStart, FewerComponentsDropTheWeakest) {
  const Dataset ds = tiny_dataset(7, 6, 3);
  RnnModel source = model_of_rank(ds, 3, TrialPrior::Free, 13);
  {
    torch::NoGradGuard no_grad;
    tensor_rank_weights(source).trial_prior->free.select(1, 1).mul_(0.01);  // component 1 the weakest
  }
  RnnModel target = model_of_rank(ds, 2, TrialPrior::Free, 14);
  start_from_neighbouring_rank(target, source);
  torch::NoGradGuard no_grad;
  // W(k) less component 1, computed from the source's factors: W(k) - c[k,1] a_1 b_1^T.
  const TensorRankFactors f = tensor_rank_weights(source).factors();
  const torch::Tensor dropped =
      torch::einsum("k,i,j->kij", {f.trial.select(1, 1), f.column.select(1, 1), f.row.select(1, 1)});
  EXPECT_TRUE(
      torch::allclose(target->weights(all_trials(ds)), source->weights(all_trials(ds)) - dropped, 1e-12, 1e-12));
  // Inputs and initial states keep the kept components' coefficients; the readout is copied.
  const torch::Tensor kept = torch::tensor({0, 2}, torch::kInt64);
  EXPECT_TRUE(torch::equal(target->initial_state, source->initial_state.index_select(1, kept)));
  EXPECT_TRUE(torch::equal(target->inputs, source->inputs.index_select(2, kept)));
  EXPECT_TRUE(torch::equal(target->readout, source->readout));
  EXPECT_TRUE(torch::equal(target->log_tau, source->log_tau));
}

TEST(RankLadderStart, RefusesFamiliesWithoutComponents) {
  const Dataset ds = tiny_dataset(7, 6, 3);
  ModelConfig config = tiny_config(2, 6);
  config.kind = ModelKind::MatrixRank;
  RnnModel source(config, TrialStructure::from_dataset(ds, config));
  config.rank = 3;
  RnnModel target(config, TrialStructure::from_dataset(ds, config));
  try {
    start_from_neighbouring_rank(target, source);
    FAIL() << "expected an InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("the rank ladder: needs two models of one family whose weights have "
                        "components, got matrix_rank"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
namespace {

class ModelFamily : public ::testing::TestWithParam<ModelKind> {
 protected:
  ModelConfig config() const {
    ModelConfig c = tiny_config(2, 4);
    c.kind = GetParam();
    c.input_rank = GetParam() == ModelKind::TensorRank ? 0 : 3;
    return c;
  }
};

TEST_P(ModelFamily, RecurrentTermMatchesDenseWeights) {
  torch::manual_seed(5);
  const Dataset ds = tiny_dataset(6, 7, 3);
  RnnModel model(config(), TrialStructure::from_dataset(ds, config()));
  randomise_parameters(model);
  const torch::Tensor trials = torch::tensor({4, 1, 6, 1}, torch::kInt64);
  const torch::Tensor rates = torch::tanh(torch::randn({4, 4}, torch::kFloat64));
  const torch::Tensor term = model->weights_->recurrent_for(trials)(rates);
  const torch::Tensor W = model->weights(trials);
  ASSERT_EQ(W.sizes(), (torch::IntArrayRef{4, 4, 4}));
  torch::Tensor dense = torch::empty({4, 4}, torch::kFloat64);
  for (int64_t j = 0; j < 4; ++j) dense[j] = W[j].matmul(rates[j]);  // an explicit loop over trials
  EXPECT_TRUE(torch::allclose(term, dense, 1e-12, 1e-12));
  // Repeated trials get identical weights; different trials differ unless the family is static.
  EXPECT_TRUE(torch::equal(W[1], W[3]));
  EXPECT_EQ(torch::equal(W[0], W[1]), GetParam() == ModelKind::Static);
}

TEST_P(ModelFamily, GradientsMatchFiniteDifferences) {
  expect_gradients_match_finite_differences(config(), LossKind::MSE);
}

TEST_P(ModelFamily, WeightParameterCountFollowsTheTable) {
  // docs/design.md section 2: R (2N + K), K N^2, N^2, 2 K N R weight parameters (GP prior: plus the
  // prior's mean, one value per trial-shared entry).
  const Dataset ds = tiny_dataset(6, 7, 3);
  RnnModel model(config(), TrialStructure::from_dataset(ds, config()));
  int64_t in_weights = 0;
  for (const auto& item : model->weights_->named_parameters())
    if (item.key() != "input_basis") in_weights += item.value().numel();
  const int64_t N = 4, R = 2, K = 7;
  const int64_t expected = GetParam() == ModelKind::TensorRank   ? R * (2 * N + K) + R
                           : GetParam() == ModelKind::Full       ? K * N * N + N * N
                           : GetParam() == ModelKind::Static     ? N * N
                           : GetParam() == ModelKind::MatrixRank ? 2 * (K * N * R + N * R)
                                                                 : -1;  // a new family: add its count here
  EXPECT_EQ(in_weights, expected);
  EXPECT_GT(model->n_params(), in_weights);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, ModelFamily, ::testing::ValuesIn(testing::all_model_kinds()),
                         [](const auto& info) { return to_string(info.param); });

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
// Readable parameter names in test output.
void PrintTo(ModelKind kind, std::ostream* os) { *os << to_string(kind); }
}  // namespace ltrnn
