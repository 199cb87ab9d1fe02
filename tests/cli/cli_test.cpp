// The ltrnn executable end to end: exit codes, messages, and the output directory contract.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

class Cli : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (scratch_ / name).string(); }
  ScratchDirectory scratch_;
  const fs::path dir_ = scratch_.path();
};

TEST_F(Cli, UsageErrorsExitWithCode2) {
  EXPECT_EQ(run_ltrnn("").exit_code, 2);
  const Outcome unknown = run_ltrnn("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown command 'frobnicate'"), std::string::npos);
  const Outcome no_rank = run_ltrnn("fit --data x.npz --out " + path("o"));
  EXPECT_EQ(no_rank.exit_code, 2);
  EXPECT_NE(no_rank.output.find("--rank is required"), std::string::npos);
  EXPECT_EQ(run_ltrnn("fit --help").exit_code, 0);
  EXPECT_EQ(run_ltrnn("fit --data x.npz --rank 0 --out o").exit_code, 2);
  const Outcome ranked_full = run_ltrnn("fit --data x.npz --model full --rank 2 --out o");
  EXPECT_EQ(ranked_full.exit_code, 2);
  EXPECT_NE(ranked_full.output.find("the full family has no rank"), std::string::npos) << ranked_full.output;
}

TEST_F(Cli, ValidateChecksExperimentFilesBeforeAnyWork) {
  const Outcome good = run_ltrnn(std::string("validate ") + LTRNN_SOURCE_DIR + "/experiments/quickstart.json");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("plan: 15 runs"), std::string::npos) << good.output;

  std::ofstream(path("bad.json")) << R"({"name": "bad", "dataset": {"generator": "teacher"},
    "runs": [{"model": "tensor_rank", "ranks": [0]}, {"model": "lstm"}]})";
  for (const std::string& command :
       {"validate " + path("bad.json"), "run " + path("bad.json") + " --out " + path("never")}) {
    const Outcome bad = run_ltrnn(command);
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("/runs/0/ranks/0: must be >= 1, got 0"), std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find("/runs/1/model: must be one of"), std::string::npos) << bad.output;
    EXPECT_FALSE(fs::exists(path("never")));
  }
}

// A path of 4,000 characters: exit 2 naming the field or option, the path shortened,
// nothing written (it ended with exit 1 and a filesystem exception).
TEST_F(Cli, OverLongDataPathsAreBadInput) {
  const std::string long_path = path(std::string(4000, 'a') + ".npz");
  const Outcome fit = run_ltrnn("fit --data " + long_path + " --rank 2 --out " + path("out"));
  EXPECT_EQ(fit.exit_code, 2) << fit.output.substr(0, 300);
  EXPECT_NE(fit.output.find(": path too long ("), std::string::npos) << fit.output.substr(0, 300);
  EXPECT_LT(fit.output.size(), 600u);
  EXPECT_FALSE(fs::exists(path("out")));

  std::ofstream(path("long.json")) << R"({"name": "long", "dataset": {"file": ")" << long_path
                                   << R"("}, "runs": [{"model": "tensor_rank", "ranks": [1]}]})";
  const Outcome run = run_ltrnn("run " + path("long.json") + " --out " + path("run"));
  EXPECT_EQ(run.exit_code, 2) << run.output.substr(0, 300);
  EXPECT_NE(run.output.find("/dataset/file: path too long ("), std::string::npos) << run.output.substr(0, 300);
  EXPECT_LT(run.output.size(), 800u);
  EXPECT_FALSE(fs::exists(path("run")));
}

TEST_F(Cli, BadDataIsRefusedWithItsNameAndNothingIsWritten) {
  const Outcome missing = run_ltrnn("fit --data " + path("absent.npz") + " --rank 2 --out " + path("out"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find(path("absent.npz") + ": file not found"), std::string::npos) << missing.output;
  EXPECT_FALSE(fs::exists(path("out")));

  write_npz(path("flat.npz"), {{"data", NpyArray::from_doubles({2, 3}, {1, 2, 3, 4, 5, 6})}});
  const Outcome flat = run_ltrnn("fit --data " + path("flat.npz") + " --rank 2 --out " + path("out"));
  EXPECT_EQ(flat.exit_code, 2);
  EXPECT_NE(flat.output.find("key 'data': expected 3 dimensions"), std::string::npos) << flat.output;
  EXPECT_FALSE(fs::exists(path("out")));

  std::ofstream(path("cut.npz"), std::ios::binary) << "PK\x03\x04 truncated";
  const Outcome cut = run_ltrnn("fit --data " + path("cut.npz") + " --rank 2 --out " + path("out"));
  EXPECT_EQ(cut.exit_code, 2);
  EXPECT_NE(cut.output.find("not a readable .npz"), std::string::npos) << cut.output;
  EXPECT_FALSE(fs::exists(path("out")));
}

TEST_F(Cli, SimulateThenFitWritesTheOutputDirectory) {
  const Outcome crowded = run_ltrnn("simulate teacher --conditions 50 --trials-per-epoch 4 --out " + path("c.npz"));
  EXPECT_EQ(crowded.exit_code, 2);
  EXPECT_NE(crowded.output.find("--conditions: must be <= the number of trials"), std::string::npos) << crowded.output;
  const Outcome sim = run_ltrnn(
      "simulate teacher --hidden 10 --neurons 8 --trials-per-epoch 6 --bins 12 "
      "--preparatory-bins 3 --out " +
      path("t.npz"));
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  const auto arrays = read_npz(path("t.npz"));
  for (const char* key : {"data", "condition", "epoch", "trial_id", "times", "true_column_factors", "true_row_factors",
                          "true_trial_factors"})
    EXPECT_TRUE(arrays.count(key)) << key;
  EXPECT_EQ(arrays.at("true_trial_factors").shape, (std::vector<int64_t>{18, 2}));

  const Outcome fit = run_ltrnn("fit --data " + path("t.npz") +
                                " --model tensor_rank --rank 2 --hidden 10 "
                                "--iterations 20 --seed 3 --out " +
                                path("r"));
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  std::ifstream results_file(path("r/results.json"));
  const auto results = nlohmann::json::parse(results_file);
  ASSERT_EQ(results["runs"].size(), 1u);
  const auto& run = results["runs"][0];
  for (const char* key : {"id", "model", "rank", "hidden", "seed", "n_params", "train_loss", "test_loss", "test_nmse",
                          "test_r2", "iterations", "seconds", "status"})
    EXPECT_TRUE(run.contains(key)) << key;
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["iterations"], 20);
  EXPECT_EQ(run["seed"], 3);
  EXPECT_EQ(results["best"]["id"], run["id"]);
  // train_loss and test_loss describe the saved model: for MSE, test_loss is test_nmse.
  EXPECT_NEAR(run["test_loss"].get<double>(), run["test_nmse"].get<double>(), 1e-5 * run["test_nmse"].get<double>());
  // A validation set by default; for MSE its loss is its nMSE; rates have no bits per spike.
  EXPECT_GT(run["validation_entries"].get<int64_t>(), 0);
  EXPECT_NEAR(run["validation_loss"].get<double>(), run["validation_nmse"].get<double>(),
              1e-5 * run["validation_nmse"].get<double>());
  EXPECT_TRUE(run["test_bits_per_spike"].is_null());
  const Outcome again =
      run_ltrnn("fit --data " + path("t.npz") + " --rank 2 --hidden 10 --iterations 5 --out " + path("r"));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.output.find("already holds results"), std::string::npos) << again.output;
  const fs::path run_dir = dir_ / "r" / "runs" / run["id"].get<std::string>();
  for (const char* file : {"predictions.npy", "factors.npz", "log.csv", "checkpoint.pt", "config.json", "model.pt"})
    EXPECT_TRUE(fs::exists(run_dir / file)) << file;
  const Outcome exported = run_ltrnn("export " + run_dir.string() + " --out " + path("again.pt"));
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_TRUE(fs::exists(path("again.pt")));
  const Outcome not_a_run = run_ltrnn("export " + path("nowhere"));
  EXPECT_EQ(not_a_run.exit_code, 2);
  EXPECT_NE(not_a_run.output.find("not a run directory"), std::string::npos) << not_a_run.output;
  EXPECT_TRUE(fs::exists(dir_ / "r" / "experiment.json"));
  EXPECT_TRUE(fs::exists(dir_ / "r" / "results.csv"));
  EXPECT_EQ(read_npy(run_dir / "predictions.npy").shape, (std::vector<int64_t>{12, 18, 8}));
  EXPECT_EQ(read_npz(run_dir / "factors.npz").at("trial_factors").shape, (std::vector<int64_t>{18, 2}));
  std::ifstream log(run_dir / "log.csv");
  std::string header;
  std::getline(log, header);
  EXPECT_EQ(header, "iteration,train_loss,test_loss,seconds,validation_loss,optimizer");
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  EXPECT_EQ(lines, 20);
}

TEST_F(Cli, AnalyzeCpReportsErrorVsRankAndWritesFactors) {
  // A rank-2 tensor a_r o b_r o c_r written with plain loops (no LibTorch here).
  const int64_t I = 6, J = 5, K = 4;
  std::vector<double> values(I * J * K);
  for (int64_t i = 0; i < I; ++i)
    for (int64_t j = 0; j < J; ++j)
      for (int64_t k = 0; k < K; ++k)
        values[(i * J + j) * K + k] =
            (1.0 + i) * std::sin(1.0 + j) * (k - 1.5) + std::cos(0.7 * i) * (j + 2.0) * (k * k + 1.0);
  write_npy(path("w.npy"), NpyArray::from_doubles({I, J, K}, values));
  const Outcome ok = run_ltrnn("analyze cp --tensor " + path("w.npy") + " --ranks 1-3 --out " + path("cp/cp.json"));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("rank  relative error"), std::string::npos);
  std::ifstream in(path("cp/cp.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_GT(j["models"][0]["relative_error"].get<double>(), 1e-3);
  EXPECT_LT(j["models"][1]["relative_error"].get<double>(), 1e-6);
  EXPECT_EQ(j["unfoldings"][0]["rank_999"].get<int64_t>(), 2);
  const auto factors = read_npz(path("cp/cp.npz"));
  EXPECT_EQ(factors.at("rank2_factor0").shape, (std::vector<int64_t>{I, 2}));
  EXPECT_EQ(factors.at("rank3_weights").shape, (std::vector<int64_t>{3}));
}

TEST_F(Cli, AnalyzeCpRefusesWhatIsNotA3Tensor) {
  write_npy(path("m.npy"), NpyArray::from_doubles({2, 3}, {1, 2, 3, 4, 5, 6}));
  const Outcome matrix = run_ltrnn("analyze cp --tensor " + path("m.npy") + " --out " + path("x.json"));
  EXPECT_EQ(matrix.exit_code, 2);
  EXPECT_NE(matrix.output.find("m.npy: expected a 3-tensor, got 2 dimensions"), std::string::npos) << matrix.output;
  write_npz(path("a.npz"), {{"weights", NpyArray::from_doubles({1, 1, 2}, {1, 2})}});
  const Outcome no_key = run_ltrnn("analyze cp --tensor " + path("a.npz") + " --out " + path("x.json"));
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.output.find("an .npz needs --key"), std::string::npos) << no_key.output;
  const Outcome bad_key = run_ltrnn("analyze cp --tensor " + path("a.npz") + " --key data --out " + path("x.json"));
  EXPECT_NE(bad_key.output.find("a.npz: no key 'data'"), std::string::npos) << bad_key.output;
  const Outcome bad_ranks = run_ltrnn("analyze cp --tensor " + path("a.npz") + " --key weights --ranks two");
  EXPECT_EQ(bad_ranks.exit_code, 2);
  EXPECT_NE(bad_ranks.output.find("--ranks: expected ranks"), std::string::npos) << bad_ranks.output;
  EXPECT_FALSE(fs::exists(path("x.json")));
}

TEST_F(Cli, AnalyzeRanksMeasuresWeightsAgainstTheSpanOfInputsAndReadout) {
  // W(k) = k e0 e1^T: rank 1 from the second trial on, inside span(e0, e1) = span(B, C^T).
  const int64_t K = 3, N = 4;
  std::vector<double> w(K * N * N, 0.0);
  for (int64_t k = 0; k < K; ++k) w[k * N * N + 0 * N + 1] = static_cast<double>(k);
  const NpyArray B = NpyArray::from_doubles({N, 1}, {1, 0, 0, 0}), C = NpyArray::from_doubles({1, N}, {0, 1, 0, 0});
  write_npz(path("w.npz"),
            {{"weights", NpyArray::from_doubles({K, N, N}, w)}, {"input_weights", B}, {"readout_weights", C}});
  const Outcome ok = run_ltrnn("analyze ranks --weights " + path("w.npz") + " --out " + path("r/ranks.json"));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("span(B, C^T): dimension 2"), std::string::npos) << ok.output;
  std::ifstream in(path("r/ranks.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["span_dimension"].get<int64_t>(), 2);
  EXPECT_EQ(j["weights"]["per_trial"]["rank"], (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(j["updates"]["max"]["column_outside"].get<double>(), 0.0);

  write_npz(path("no_readout.npz"), {{"weights", NpyArray::from_doubles({K, N, N}, w)}, {"input_weights", B}});
  const Outcome missing = run_ltrnn("analyze ranks --weights " + path("no_readout.npz") + " --out " + path("x.json"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("no_readout.npz: no key 'readout_weights'"), std::string::npos) << missing.output;
  write_npz(path("wrong.npz"),
            {{"weights", NpyArray::from_doubles({K, N, N}, w)}, {"input_weights", C}, {"readout_weights", C}});
  const Outcome wrong = run_ltrnn("analyze ranks --weights " + path("wrong.npz") + " --out " + path("x.json"));
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.output.find("key 'input_weights': expected 4 rows"), std::string::npos) << wrong.output;
  EXPECT_FALSE(fs::exists(path("x.json")));
}

}  // namespace
}  // namespace ltrnn
