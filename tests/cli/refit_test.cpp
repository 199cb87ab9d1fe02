// `ltrnn refit` (docs/design.md section 7, "Refit"): a teacher's second session refitted with
// the latent network fitted on its first frozen -- the frozen parts stay bit for bit, the new
// trial factors follow the planted ones, the held-out error comes near the noise floor -- and
// files that do not match the fitted model refused, naming the file, with nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "io/npy.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* kRunId = "tensor_rank-r1-n12-s0";

// A rank-1 teacher over two sessions (half the neurons replaced in the second), and a fit of
// its first session: the fixture every test refits from.
class RefitCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDirectory("refit");
    const fs::path dir = scratch_->path();
    const std::string teacher =
        "simulate teacher --rank 1 --hidden 12 --neurons 12 --conditions 2 --bins 20 "
        "--preparatory-bins 5 --trials-per-epoch 12 --seed 3 ";
    ASSERT_EQ(run_ltrnn(teacher + "--sessions 2 --turnover 0.5 --out " + (dir / "days.npz").string()).exit_code, 0);
    ASSERT_EQ(run_ltrnn(teacher + "--bins 24 --out " + (dir / "longer.npz").string()).exit_code, 0);
    ASSERT_EQ(run_ltrnn(teacher + "--conditions 3 --out " + (dir / "three_conditions.npz").string()).exit_code, 0);
    ASSERT_EQ(run_ltrnn(teacher + "--neurons 10 --out " + (dir / "fewer.npz").string()).exit_code, 0);
    const Outcome fit =
        run_ltrnn("fit --data " + (dir / "days_session1.npz").string() +
                  " --rank 1 --hidden 12 --tau-pilot-iterations 0 --quiet --out " + (dir / "fitted").string());
    ASSERT_EQ(fit.exit_code, 0) << fit.output;
  }
  static void TearDownTestSuite() { delete scratch_; }
  static fs::path dir() { return scratch_->path(); }
  static torch::Tensor array(const fs::path& npz, const std::string& key) { return from_npy(read_npz(npz).at(key)); }

  static ScratchDirectory* scratch_;
};
ScratchDirectory* RefitCommand::scratch_ = nullptr;

TEST_F(RefitCommand, NewSessionKeepsTheLatentNetworkAndRecoversItsTrialFactors) {
  const fs::path out = dir() / "day2";
  const Outcome refit =
      run_ltrnn("refit " + (dir() / "fitted").string() + " --data " + (dir() / "days_session2.npz").string() +
                " --new-readout --quiet --out " + out.string());
  ASSERT_EQ(refit.exit_code, 0) << refit.output;
  EXPECT_NE(refit.output.find("refitted from"), std::string::npos) << refit.output;

  // The latent network is the fitted one, exactly; the readout is new (the new session's neurons).
  const fs::path fitted_factors = dir() / "fitted" / "runs" / kRunId / "factors.npz";
  const fs::path refit_factors = out / "runs" / kRunId / "factors.npz";
  for (const char* frozen : {"column_factors", "row_factors", "inputs", "initial_state", "tau"})
    EXPECT_TRUE(torch::equal(array(fitted_factors, frozen), array(refit_factors, frozen))) << frozen;
  EXPECT_FALSE(torch::equal(array(fitted_factors, "readout"), array(refit_factors, "readout")));
  const json summary = json::parse(read_file(out / "runs" / kRunId / "summary.json"));
  EXPECT_EQ(summary["refit"]["fitted_parameters"],
            json::array({"readout", "readout_bias", "weights.trial_factors.latent", "weights.trial_factors.mean"}));

  // The new trials' factors follow the planted ones (up to sign and scale), and the held-out
  // error computed here from the predictions comes near that of the true rates.
  const fs::path session = dir() / "days_session2.npz";
  const torch::Tensor fitted_c = array(refit_factors, "trial_factors").select(1, 0);
  const torch::Tensor true_c = array(session, "true_trial_factors").select(1, 0).to(torch::kFloat64);
  const double correlation = torch::corrcoef(torch::stack({fitted_c.to(torch::kFloat64), true_c}))[0][1].item<double>();
  EXPECT_GT(std::abs(correlation), 0.9);
  const torch::Tensor y = array(session, "data").to(torch::kFloat64);
  const torch::Tensor truth = array(session, "true_rates").to(torch::kFloat64);
  const torch::Tensor test = array(out / "masks.npz", "test");
  const torch::Tensor prediction = from_npy(read_npy(out / "runs" / kRunId / "predictions.npy")).to(torch::kFloat64);
  const double variance = y.masked_select(test).var(/*unbiased=*/false).item<double>();
  const auto nmse = [&](const torch::Tensor& p) {
    return (y - p).square().masked_select(test).mean().item<double>() / variance;
  };
  const double floor = nmse(truth), refitted = nmse(prediction);
  EXPECT_NEAR(refitted, summary["summary"]["test_nmse"].get<double>(), 1e-6 * refitted);
  EXPECT_LT(refitted, 1.5 * floor) << "noise floor " << floor;
}

TEST_F(RefitCommand, SameNeuronsKeepTheirFittedReadout) {
  const fs::path out = dir() / "again";
  const Outcome refit =
      run_ltrnn("refit " + (dir() / "fitted").string() + " --data " + (dir() / "days_session1.npz").string() +
                " --quiet --iterations 50 --out " + out.string());
  ASSERT_EQ(refit.exit_code, 0) << refit.output;
  const fs::path fitted_factors = dir() / "fitted" / "runs" / kRunId / "factors.npz";
  const fs::path refit_factors = out / "runs" / kRunId / "factors.npz";
  for (const char* frozen : {"readout", "readout_bias", "column_factors"})
    EXPECT_TRUE(torch::equal(array(fitted_factors, frozen), array(refit_factors, frozen))) << frozen;
  const json summary = json::parse(read_file(out / "runs" / kRunId / "summary.json"));
  EXPECT_EQ(summary["refit"]["fitted_parameters"],
            json::array({"weights.trial_factors.latent", "weights.trial_factors.mean"}));
}

TEST_F(RefitCommand, RefusesFilesThatDoNotMatchTheFittedModel) {
  const std::string fitted = (dir() / "fitted").string();
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases{
      {"--data " + (dir() / "longer.npz").string() + " --new-readout", "longer.npz: its time grid (24 bins from -0.1"},
      {"--data " + (dir() / "three_conditions.npz").string() + " --new-readout",
       "three_conditions.npz/condition: condition 2 is not one the model was fitted with"},
      {"--data " + (dir() / "days.npz").string() + " --new-readout", "days.npz: holds several sessions"},
      {"--data " + (dir() / "fewer.npz").string(),
       "fewer.npz: 10 neurons, but the fitted readout has 12; for other neurons fit a new readout with --new-readout"},
      {"--data " + (dir() / "fewer.npz").string() + " --session 1", "--session: the model was fitted on one session"},
      {"--data " + (dir() / "missing.npz").string() + " --new-readout", "missing.npz"},
  };
  for (const Case& c : cases) {
    const fs::path out = dir() / "refused";
    const Outcome refused = run_ltrnn("refit " + fitted + " " + c.args + " --out " + out.string());
    EXPECT_EQ(refused.exit_code, 2) << c.args << "\n" << refused.output;
    EXPECT_NE(refused.output.find(c.message), std::string::npos) << refused.output;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
  const Outcome not_a_run = run_ltrnn("refit " + dir().string() + " --data x.npz --out " + (dir() / "o").string());
  EXPECT_EQ(not_a_run.exit_code, 2);
  EXPECT_NE(not_a_run.output.find("neither a run directory"), std::string::npos) << not_a_run.output;
}

}  // namespace
}  // namespace ltrnn
