// A refit's start (model/refit.h): the fitted latent network copied and frozen, a session's
// readout rows kept or a new readout left to fit, the new trials' factors started at the
// fitted mean -- and only those take a gradient.
#include "model/refit.h"

#include <gtest/gtest.h>

#include <set>

#include "test_models.h"
#include "util/errors.h"

namespace ltrnn {
namespace {
using testing::randomise_parameters;
using testing::tiny_config;
using testing::tiny_dataset;

ModelConfig refit_config(ModelKind kind = ModelKind::TensorRank) {
  ModelConfig config = tiny_config(2, 4);
  config.kind = kind;
  config.trial_inputs = kind == ModelKind::TensorRank;
  config.free_initial_states = true;
  return config;
}

RnnModel fitted_model(const ModelConfig& config) {
  torch::manual_seed(1);
  RnnModel fitted(config, TrialStructure::from_dataset(tiny_dataset(6, 5, 7), config));
  randomise_parameters(fitted);
  return fitted;
}

std::set<std::string> with_gradient(RnnModel& model) {
  model->zero_grad();
  model->simulate(torch::arange(model->structure().n_trials(), torch::kInt64)).prediction.square().sum().backward();
  std::set<std::string> names;
  for (const auto& item : model->named_parameters())
    if (item.value().grad().defined() && item.value().grad().abs().sum().item<double>() > 0) names.insert(item.key());
  return names;
}

TEST(Refit, KeptSessionRowsAndTheLatentNetworkAreFrozenOnlyTheTrialFactorsFitted) {
  const ModelConfig config = refit_config();
  RnnModel fitted = fitted_model(config);
  RnnModel refit(config, TrialStructure::from_dataset(tiny_dataset(6, 4, 3), config));
  const std::vector<std::string> names = start_refit(refit, fitted, ReadoutRows{2, 3});
  const std::vector<std::string> trial_factors{"weights.trial_factors.latent", "weights.trial_factors.mean"};
  EXPECT_EQ(names, trial_factors);

  const auto from = fitted->named_parameters();
  for (const auto& item : refit->named_parameters()) {
    const std::string& name = item.key();
    if (name.rfind("weights.trial_factors.", 0) == 0) continue;
    EXPECT_FALSE(item.value().requires_grad()) << name;
    const torch::Tensor expected =
        name == "readout" || name == "readout_bias" ? from[name].narrow(0, 2, 3) : from[name];
    EXPECT_TRUE(torch::equal(item.value(), expected)) << name;
  }
  // Every new trial starts as the fitted trials' average.
  EXPECT_TRUE(torch::allclose(refit->named_parameters()["weights.trial_factors.mean"],
                              fitted->named_factors()[2].second.mean(0)));
  EXPECT_EQ(with_gradient(refit), std::set<std::string>(trial_factors.begin(), trial_factors.end()));
}

TEST(Refit, NewNeuronsGetANewReadoutThatIsFittedToo) {
  const ModelConfig config = refit_config();
  RnnModel fitted = fitted_model(config);
  RnnModel refit(config, TrialStructure::from_dataset(tiny_dataset(6, 4, 9), config));
  const torch::Tensor drawn = refit->readout.detach().clone();
  const std::vector<std::string> names = start_refit(refit, fitted, std::nullopt);
  const std::vector<std::string> expected{"readout", "readout_bias", "weights.trial_factors.latent",
                                          "weights.trial_factors.mean"};
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(torch::equal(refit->readout, drawn));  // as drawn for the new neurons
  EXPECT_EQ(with_gradient(refit), std::set<std::string>(expected.begin(), expected.end()));
}

TEST(Refit, RefusesAFamilyWithoutTrialFactorsAndAnotherConditionCount) {
  const ModelConfig config = refit_config(ModelKind::Static);
  RnnModel fitted = fitted_model(config);
  RnnModel refit(config, TrialStructure::from_dataset(tiny_dataset(6, 4, 7), config));
  EXPECT_THROW(
      {
        try {
          start_refit(refit, fitted, ReadoutRows{0, 7});
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("no per-trial parameters"), std::string::npos) << e.what();
          throw;
        }
      },
      InputError);

  const ModelConfig tensor = refit_config();
  RnnModel fitted_tensor = fitted_model(tensor);
  Dataset three = tiny_dataset(6, 4, 7);
  three.condition = torch::arange(4, torch::kInt64).remainder(3);
  three.condition_labels = {0, 1, 2};
  RnnModel other(tensor, TrialStructure::from_dataset(three, tensor));
  EXPECT_THROW(start_refit(other, fitted_tensor, ReadoutRows{0, 7}), InputError);
}

}  // namespace
}  // namespace ltrnn
