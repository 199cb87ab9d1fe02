// Dataset loading (docs/design.md section 7), refusals of malformed input, preprocessing.
#include "data/dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "data/preprocess.h"
#include "test_paths.h"
#include "util/errors.h"

namespace ltrnn {
namespace {

std::string fixture(const std::string& name) { return std::string(LTRNN_FIXTURE_DIR) + "/" + name; }

std::map<std::string, NpyArray> valid_arrays() {
  std::vector<double> data(4 * 3 * 2);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = 0.1 * i;
  return {{"data", NpyArray::from_doubles({4, 3, 2}, data)},
          {"condition", NpyArray::from_int64s({3}, {7, 3, 7})},
          {"epoch", NpyArray::from_int64s({3}, {0, 0, 1})},
          {"trial_id", NpyArray::from_int64s({3}, {0, 4, 5})},
          {"times", NpyArray::from_doubles({4}, {-0.1, 0.0, 0.1, 0.2})}};
}

std::string refusal(std::map<std::string, NpyArray> arrays) {
  try {
    dataset_from_arrays(arrays, "rec.npz");
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Dataset, LoadsNumpyFileWithAllKeys) {
  for (const char* name : {"dataset_stored.npz", "dataset_deflated.npz"}) {
    const Dataset ds = load_dataset(fixture(name));
    EXPECT_EQ(ds.data.sizes(), (torch::IntArrayRef{8, 5, 3}));
    EXPECT_NEAR(ds.data[0][2][1].item<double>(), 0.7, 1e-6);  // data[0, 2, 1] = 7 / 10
    EXPECT_EQ(ds.condition_labels, (std::vector<int64_t>{0, 1, 2}));
    EXPECT_EQ(ds.epoch_labels, (std::vector<std::string>{"BL", "AD", "WO"}));
    EXPECT_TRUE(torch::equal(ds.epoch, torch::tensor({0, 0, 1, 1, 2}, torch::kInt64)));
    EXPECT_TRUE(torch::equal(ds.trial_id, torch::tensor({0, 1, 5, 6, 9}, torch::kInt64)));
    EXPECT_NEAR(ds.times[0].item<double>(), -0.2, 1e-12);
    EXPECT_NEAR(ds.bin_width(), 0.1, 1e-12);
    EXPECT_FALSE(ds.counts);
  }
  const Dataset deflated = load_dataset(fixture("dataset_deflated.npz"));
  ASSERT_EQ(deflated.notes.size(), 1u);
  EXPECT_NE(deflated.notes[0].find("ignoring keys outside the data format: 'comment'"), std::string::npos);
}

TEST(Dataset, DefaultsForMissingOptionalArrays) {
  const Dataset ds = load_dataset(fixture("counts.npz"));
  EXPECT_TRUE(ds.counts);
  EXPECT_EQ(ds.n_conditions(), 1);
  EXPECT_TRUE(torch::equal(ds.trial_id, torch::arange(3, torch::kInt64)));
  EXPECT_TRUE(torch::allclose(ds.times, torch::linspace(0, 1, 4, torch::kFloat64)));
  EXPECT_EQ(ds.epoch_labels, (std::vector<std::string>{"0"}));
}

TEST(Dataset, NanAsMissingJoinsTheMissingMaskAndInfStaysAnError) {
  auto a = valid_arrays();
  std::vector<double> values(24, 1.0);
  values[5] = std::nan("");   // (0, 2, 1)
  values[13] = std::nan("");  // (2, 0, 1)
  a["data"] = NpyArray::from_doubles({4, 3, 2}, values);
  torch::Tensor file_missing = torch::zeros({4, 3, 2}, torch::kBool);
  file_missing[0][0][0] = true;  // the file's own missing mask is kept
  a["missing"] = to_npy(file_missing);
  const Dataset ds = dataset_from_arrays(a, "rec.npz", NanPolicy::Missing);
  ASSERT_TRUE(ds.missing.defined());
  EXPECT_EQ(ds.missing.sum().item<int64_t>(), 3);
  EXPECT_TRUE(ds.missing[0][2][1].item<bool>());
  EXPECT_TRUE(ds.missing[2][0][1].item<bool>());
  EXPECT_TRUE(ds.missing[0][0][0].item<bool>());
  EXPECT_TRUE(torch::isfinite(ds.data).all().item<bool>());
  EXPECT_EQ(ds.data[0][2][1].item<double>(), 0.0);
  EXPECT_NE(ds.notes.back().find("2 NaN entries"), std::string::npos);
  values[7] = -INFINITY;
  a["data"] = NpyArray::from_doubles({4, 3, 2}, values);
  try {
    dataset_from_arrays(a, "rec.npz", NanPolicy::Missing);
    ADD_FAILURE() << "Inf was accepted";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("found 0 NaN and 1 Inf"), std::string::npos) << error.what();
  }
}

TEST(Dataset, RelabelsConditionsToIndices) {
  const Dataset ds = dataset_from_arrays(valid_arrays(), "rec.npz");
  EXPECT_EQ(ds.condition_labels, (std::vector<int64_t>{3, 7}));
  EXPECT_TRUE(torch::equal(ds.condition, torch::tensor({1, 0, 1}, torch::kInt64)));
}

TEST(Dataset, RefusesMalformedInputNamingFileKeyAndExpectation) {
  auto a = valid_arrays();
  a.erase("data");
  EXPECT_NE(refusal(a).find("rec.npz: missing required key 'data'"), std::string::npos);

  a = valid_arrays();
  a["data"] = NpyArray::from_doubles({4, 6}, std::vector<double>(24, 0.0));
  EXPECT_NE(refusal(a).find("rec.npz, key 'data': expected 3 dimensions (time x trial x neuron), got shape (4, 6)"),
            std::string::npos);

  a = valid_arrays();
  std::vector<double> values(24, 1.0);
  values[5] = std::nan("");
  values[6] = INFINITY;
  a["data"] = NpyArray::from_doubles({4, 3, 2}, values);
  EXPECT_NE(refusal(a).find("key 'data': expected finite values, found 1 NaN and 1 Inf entries; if NaN marks "
                            "entries that were not observed, pass --nan-as-missing"),
            std::string::npos)
      << refusal(a);

  a = valid_arrays();
  a["data"] = NpyArray::from_strings({1, 1, 1}, {"x"});
  EXPECT_NE(refusal(a).find("key 'data': expected a numeric array, got dtype <U1"), std::string::npos);

  a = valid_arrays();
  a["condition"] = NpyArray::from_int64s({2}, {0, 1});
  EXPECT_NE(refusal(a).find("key 'condition': expected a 1-d array of length K (trials) = 3, got shape (2,)"),
            std::string::npos);

  a = valid_arrays();
  a["condition"] = NpyArray::from_doubles({3}, {0, 0.5, 1});
  EXPECT_NE(refusal(a).find("key 'condition': expected integers"), std::string::npos);

  a = valid_arrays();
  a["trial_id"] = NpyArray::from_int64s({3}, {0, 5, 5});
  EXPECT_NE(refusal(a).find("key 'trial_id': expected strictly increasing"), std::string::npos);

  a = valid_arrays();
  a["times"] = NpyArray::from_doubles({3}, {0, 1, 2});
  EXPECT_NE(refusal(a).find("key 'times': expected a 1-d array of length T (time bins) = 4"), std::string::npos);

  a = valid_arrays();
  a["times"] = NpyArray::from_doubles({4}, {0, 1, 1, 2});
  EXPECT_NE(refusal(a).find("key 'times': expected strictly increasing"), std::string::npos);

  a = valid_arrays();
  a["data"] = NpyArray::from_int64s({1, 1, 2}, {3, -1});
  EXPECT_NE(refusal(a).find("spike counts and must be >= 0"), std::string::npos);

  EXPECT_THROW(load_dataset(fixture("no_such_file.npz")), InputError);
  EXPECT_THROW(load_dataset(fixture("make_fixtures.py")), InputError);
}

TEST(Preprocess, ZScoresEachNeuron) {
  Dataset ds = dataset_from_arrays(valid_arrays(), "rec.npz");
  ds.data = torch::randn({10, 6, 3}, torch::kFloat64) * torch::tensor({1.0, 5.0, 0.1}, torch::kFloat64) + 3.0;
  PreprocessConfig config;
  config.zscore = true;
  const Dataset z = preprocess(ds, config);
  for (int64_t i = 0; i < 3; ++i) {
    const torch::Tensor neuron = z.data.select(2, i);
    EXPECT_NEAR(neuron.mean().item<double>(), 0.0, 1e-12);
    EXPECT_NEAR(neuron.std(/*unbiased=*/false).item<double>(), 1.0, 1e-12);
  }
}

TEST(Preprocess, GaussianSmoothingMatchesTheKernel) {
  Dataset ds = dataset_from_arrays(valid_arrays(), "rec.npz");
  const int64_t T = 41;
  ds.data = torch::zeros({T, 1, 2}, torch::kFloat64);
  ds.data[20][0][0] = 1.0;          // an impulse in neuron 0
  ds.data.select(2, 1).fill_(2.5);  // a constant in neuron 1
  PreprocessConfig config;
  config.smooth_sigma = 2.0;
  const Dataset s = preprocess(ds, config);
  double total = 0;
  for (int64_t d = -8; d <= 8; ++d) total += std::exp(-0.5 * d * d / 4.0);
  for (int64_t d : {0, 1, 3, 8})
    EXPECT_NEAR(s.data[20 + d][0][0].item<double>(), std::exp(-0.5 * d * d / 4.0) / total, 1e-12) << d;
  EXPECT_NEAR(s.data[29][0][0].item<double>(), 0.0, 1e-15);                                      // beyond 4 sigma
  EXPECT_TRUE(torch::allclose(s.data.select(2, 1), torch::full({T, 1}, 2.5, torch::kFloat64)));  // edges reflect
}

}  // namespace
}  // namespace ltrnn
