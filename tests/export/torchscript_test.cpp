// TorchScript export: the saved module, loaded back with torch::jit::load, reproduces the
// in-memory model for every family and any subset of trials.
#include "export/torchscript.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "model/family.h"
#include "model/test_models.h"
#include "scratch_directory.h"
#include "train/checkpoint.h"
#include "train/fit.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using testing::randomise_parameters;
using testing::tiny_config;
using testing::tiny_dataset;

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double scale = expected.abs().max().item<double>() + 1e-12;
  EXPECT_LE((actual - expected).abs().max().item<double>() / scale, 1e-5) << what;
}

class Export : public ::testing::TestWithParam<ModelKind> {
 protected:
  RnnModel make_model(bool exp_link = false) {
    torch::manual_seed(6);
    const Dataset ds = tiny_dataset(7, 6, 3);
    ModelConfig config = tiny_config(2, 5);
    config.kind = GetParam();
    config.input_rank = GetParam() == ModelKind::TensorRank ? 0 : 3;
    config.recurrent_bias = true;
    config.trial_inputs = true;  // tensor_rank's; the other families have no trial factors
    config.free_initial_states = true;
    config.solver = GetParam() == ModelKind::Static ? Solver::RK4 : Solver::Heun;
    config.substeps = 2;
    RnnModel model(config, TrialStructure::from_dataset(ds, config));
    randomise_parameters(model);
    model->exp_link = exp_link;
    model->to(torch::kFloat32);
    return model;
  }
  fs::path temp(const std::string& name) const { return scratch_ / name; }
  ScratchDirectory scratch_;
};

TEST_P(Export, LoadedModuleReproducesTheModel) {
  RnnModel model = make_model();
  const fs::path path = temp(".pt");
  save_torchscript(path, model);
  torch::jit::Module loaded = torch::jit::load(path.string());
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& trials : {torch::arange(6, torch::kInt64), torch::tensor({4, 0, 4}, torch::kInt64)}) {
    const auto expected = model->simulate(trials);
    expect_close(loaded.forward({trials}).toTensor(), expected.prediction, "forward");
    expect_close(loaded.run_method("hidden", trials).toTensor(), expected.hidden, "hidden");
    expect_close(loaded.run_method("weights", trials).toTensor(), model->weights(trials), "weights");
  }
  EXPECT_EQ(loaded.attr("model_kind").toStringRef(), to_string(GetParam()));
  EXPECT_EQ(loaded.attr("hidden_size").toInt(), 5);
  EXPECT_EQ(loaded.attr("n_trials").toInt(), 6);
  expect_close(loaded.attr("readout").toTensor(), model->readout_matrix(), "readout");
  EXPECT_EQ(loaded.attr("times").toTensor().size(0), 7);
}

TEST_P(Export, ExponentialLinkIsExported) {
  RnnModel model = make_model(/*exp_link=*/true);
  torch::jit::Module module = to_torchscript(model);
  torch::NoGradGuard no_grad;
  const torch::Tensor trials = torch::tensor({1, 2}, torch::kInt64);
  expect_close(module.forward({trials}).toTensor(), model->forward(trials), "forward with exp link");
  EXPECT_GT(module.forward({trials}).toTensor().min().item<double>(), 0.0);
}

TEST_P(Export, CheckpointAloneRebuildsTheModel) {
  RnnModel model = make_model();
  const fs::path path = temp(".ckpt");
  save_checkpoint(path, model, nullptr, {});
  RnnModel rebuilt = model_from_checkpoint(path);
  torch::NoGradGuard no_grad;
  const torch::Tensor trials = torch::arange(6, torch::kInt64);
  EXPECT_TRUE(torch::equal(rebuilt->forward(trials), model->forward(trials)));
  EXPECT_EQ(rebuilt->readout.scalar_type(), torch::kFloat32);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, Export, ::testing::ValuesIn(testing::all_model_kinds()),
                         [](const auto& info) { return to_string(info.param); });

TEST(ExportTensorRank, WeightsAreSumsOfOuterProductsOfTheExportedFactors) {
  torch::manual_seed(8);
  const Dataset ds = tiny_dataset(5, 4, 3);
  const ModelConfig config = tiny_config(3, 6);
  RnnModel model(config, TrialStructure::from_dataset(ds, config));
  randomise_parameters(model);
  torch::jit::Module module = to_torchscript(model);
  const torch::Tensor A = module.attr("column_factors").toTensor();
  const torch::Tensor B = module.attr("row_factors").toTensor();
  const torch::Tensor c = module.attr("trial_factors").toTensor();
  ASSERT_EQ(c.sizes(), (torch::IntArrayRef{4, 3}));
  const torch::Tensor W = module.run_method("weights", torch::arange(4, torch::kInt64)).toTensor();
  for (int64_t k = 0; k < 4; ++k) {
    torch::Tensor expected = torch::zeros({6, 6}, torch::kFloat64);
    for (int64_t r = 0; r < 3; ++r) expected += c[k][r] * torch::outer(A.select(1, r), B.select(1, r));
    EXPECT_TRUE(torch::allclose(W[k], expected, 1e-12, 1e-12)) << k;
  }
}

}  // namespace
}  // namespace ltrnn

namespace ltrnn {
void PrintTo(ModelKind kind, std::ostream* os);
}  // namespace ltrnn
