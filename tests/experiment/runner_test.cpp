// The runner: outputs on disk, refusal to overwrite,
// and resume after a kill giving the same results as an uninterrupted run.
#include "experiment/runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "io/npy.h"
#include "run/comparison.h"
#include "run/results.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "tiny_experiment.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class RunnerDirectory : public ::testing::Test {
 protected:
  ScratchDirectory scratch_;
  const fs::path dir_ = scratch_.path();

  fs::path write_experiment(int64_t iterations) const {
    TinyExperiment tiny;
    tiny.iterations = iterations;
    return write_tiny_experiment(dir_, tiny);
  }
};

TEST_F(RunnerDirectory, WritesTheOutputDirectoryAndRefusesToOverwriteIt) {
  const Experiment e = load_experiment(write_experiment(20));
  RunnerOptions options;
  options.out_dir = dir_ / "out";
  options.progress = false;
  std::ostringstream log;
  const auto runs = run_experiment(e, options, log);
  ASSERT_EQ(runs.size(), 5u);  // with the rank ladder's r2-up and r1-down
  for (const auto& run : runs) EXPECT_TRUE(run.finished()) << run.id;
  EXPECT_NE(log.str().find("plan: 5 runs"), std::string::npos);
  EXPECT_NE(log.str().find("selected rank for tensor_rank"), std::string::npos);
  for (const char* file : {"experiment.json", "results.json", "results.csv", "dataset.npz", "masks.npz", "report.html"})
    EXPECT_TRUE(fs::exists(options.out_dir / file)) << file;
  EXPECT_NE(log.str().find("report: "), std::string::npos);
  for (const char* id : {"tensor_rank-r1-n6-s0", "tensor_rank-r2-n6-s0", "static-n6-s0", "tensor_rank-r2-n6-up",
                         "tensor_rank-r1-n6-down"})
    for (const char* file :
         {"summary.json", "log.csv", "checkpoint.pt", "predictions.npy", "factors.npz", "config.json", "model.pt"})
      EXPECT_TRUE(fs::exists(options.out_dir / "runs" / id / file)) << id << "/" << file;
  const json results = json::parse(read_file(options.out_dir / "results.json"));
  EXPECT_EQ(results["runs"].size(), 5u);
  EXPECT_TRUE(results.contains("selected_rank"));
  EXPECT_EQ(results["experiment"]["plan"].size(), 5u);
  // The ladder's starts say where they started; the up start from the only rank-1 fit.
  const json& up = results["runs"][3];
  EXPECT_EQ(up["id"], "tensor_rank-r2-n6-up");
  EXPECT_EQ(up["start"], "up");
  EXPECT_EQ(up["start_from"], "tensor_rank-r1-n6-s0");
  // It starts at the rank-1 fit's simulation and keeps its best iterate: never worse.
  EXPECT_LE(up["validation_loss"].get<double>(), results["runs"][0]["validation_loss"].get<double>() * (1 + 1e-6));
  EXPECT_EQ(results["runs"][0]["start"], "seed");
  EXPECT_EQ(results["runs"][0]["start_from"], "");
  std::istringstream csv(read_file(options.out_dir / "results.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header,
            "id,model,rank,hidden,seed,n_params,train_loss,test_loss,test_nmse,test_r2,iterations,seconds,status,"
            "status_reason,"
            "validation_entries,validation_loss,validation_nmse,test_bits_per_spike,validation_bits_per_spike,"
            "test_deviance_explained,start,start_from,validation_loss_double_substeps");
  // The discretisation check: every validated fit scored with its substeps doubled, and the
  // decision's two fits compared in results.json and in the printed table.
  for (const json& run : results["runs"]) EXPECT_TRUE(run["validation_loss_double_substeps"].is_number()) << run["id"];
  EXPECT_TRUE(results["discretisation"]["tensor_rank"].contains("flagged")) << results["discretisation"];
  EXPECT_NE(log.str().find("discretisation check for tensor_rank: with the substeps doubled"), std::string::npos)
      << log.str();
  // masks.npz holds the three disjoint sets the runs used.
  const auto masks = read_npz(options.out_dir / "masks.npz");
  for (const char* key : {"train", "validation", "test"}) EXPECT_TRUE(masks.count(key)) << key;
  EXPECT_EQ(results["summary"][0]["basis"], "validation");

  EXPECT_THROW(run_experiment(e, options, log), InputError);  // results exist, no --resume

  // On resume, a run that failed for a reason other than divergence is fitted again, and so
  // is one whose summary cannot be read; finished runs are kept.
  json failed = json::parse(read_file(options.out_dir / "runs/tensor_rank-r2-n6-s0/summary.json"));
  failed["summary"]["status"] = "failed: disk full";
  write_file_atomic(options.out_dir / "runs/tensor_rank-r2-n6-s0/summary.json", failed.dump());
  write_file_atomic(options.out_dir / "runs/static-n6-s0/summary.json", "{\"summary\": {\"id\": ");
  // A directory written before reports existed (no outputs.report, no description) resumes:
  // neither changes a number; so does one written before mask.fit_preparatory or
  // mask.held_out_neurons (their defaults are what such a directory was fitted with), or
  // before the teacher's variants.
  json saved = json::parse(read_file(options.out_dir / "experiment.json"));
  saved["outputs"].erase("report");
  saved["mask"].erase("fit_preparatory");
  saved["mask"].erase("held_out_neurons");
  for (const char* parameter : {"preparatory", "readout_offset", "solver", "substeps", "saturation"})
    ASSERT_EQ(saved["dataset"]["parameters"].erase(parameter), 1u) << parameter;
  saved.erase("description");
  write_file_atomic(options.out_dir / "experiment.json", saved.dump(2));
  options.resume = true;
  std::ostringstream resumed_log;
  const auto resumed = run_experiment(e, options, resumed_log);
  EXPECT_NE(resumed_log.str().find("tensor_rank-r1-n6-s0: already finished"), std::string::npos);
  EXPECT_EQ(resumed_log.str().find("tensor_rank-r2-n6-s0: already"), std::string::npos);
  EXPECT_EQ(resumed_log.str().find("static-n6-s0: already"), std::string::npos);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    EXPECT_TRUE(resumed[i].finished());
    EXPECT_EQ(resumed[i].test_nmse, runs[i].test_nmse);
  }
}

// The small paper reproduction: reach data, every family, the CP of the true weight
// updates and the trial-factor comparison, end to end.
TEST_F(RunnerDirectory, PaperReachSmallRunsTheAnalyses) {
  const Experiment e = load_experiment(fs::path(LTRNN_SOURCE_DIR) / "experiments/paper_reach_small.json");
  RunnerOptions options;
  options.out_dir = dir_ / "reach";
  options.progress = false;
  options.jobs = 2;
  std::ostringstream log;
  const auto runs = run_experiment(e, options, log);
  for (const auto& run : runs) EXPECT_TRUE(run.finished()) << run.id;
  const json results = json::parse(read_file(options.out_dir / "results.json"));
  // The learning curve of the simulated session: a jump at field onset, an after-effect.
  const json& curve = results["reach"]["lateral_deviation"];
  EXPECT_GT(std::abs(curve["field_early"].get<double>()), 2 * std::abs(curve["baseline_late"].get<double>()));
  EXPECT_LT(curve["washout_early"].get<double>() * curve["field_early"].get<double>(), 0);
  // CP of the true updates: errors for each rank, non-increasing, below 1.
  const json& errors = results["analyses"]["cp"]["errors"];
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_LE(errors[1]["relative_error"].get<double>(), errors[0]["relative_error"].get<double>() + 1e-9);
  EXPECT_LT(errors[0]["relative_error"].get<double>(), 1.0);
  // Each tensor_rank rank's best fit compared with the CP trial factors of its rank.
  const json& similarity = results["analyses"]["trial_factor_similarity"];
  ASSERT_EQ(similarity.size(), 2u);
  for (const auto& entry : similarity) {
    EXPECT_GE(entry["similarity"].get<double>(), 0.0);
    EXPECT_LE(entry["similarity"].get<double>(), 1.0);
  }
  for (const char* file : {"analysis/cp.json", "analysis/cp.npz", "dataset.npz"})
    EXPECT_TRUE(fs::exists(options.out_dir / file)) << file;
  const auto dataset = read_npz(options.out_dir / "dataset.npz");
  EXPECT_EQ(dataset.at("weights").shape, (std::vector<int64_t>{48, 30, 30}));
  EXPECT_EQ(dataset.at("hand").shape, (std::vector<int64_t>{30, 48, 2}));
  EXPECT_NE(log.str().find("CP decomposition of the updates of 'weights'"), std::string::npos);
}

// Two runs fitted at once give the numbers of the same runs fitted one after another.
TEST_F(RunnerDirectory, ConcurrentJobsGiveTheSameNumbersAsSequentialRuns) {
  const Experiment e = load_experiment(write_experiment(25));
  std::ostringstream log;
  RunnerOptions sequential;
  sequential.out_dir = dir_ / "sequential";
  sequential.threads = 1;
  sequential.progress = false;
  run_experiment(e, sequential, log);
  RunnerOptions parallel = sequential;
  parallel.out_dir = dir_ / "parallel";
  parallel.threads = 0;
  parallel.jobs = 2;
  run_experiment(e, parallel, log);
  EXPECT_EQ(results_without_timing(parallel.out_dir), results_without_timing(sequential.out_dir));
}

// Kill `ltrnn run` while the second run is under way, resume it, and compare with an
// uninterrupted run: no finished run is lost and every number is the same.
TEST_F(RunnerDirectory, KilledAndResumedRunEqualsUninterruptedRun) {
  const fs::path experiment = write_experiment(400);
  const std::string binary = LTRNN_BINARY;
  ASSERT_EQ(std::system((binary + " run " + experiment.string() + " --quiet --threads 1 --out " +
                         (dir_ / "whole").string() + " > /dev/null 2>&1")
                            .c_str()),
            0);

  const fs::path out = dir_ / "killed";
  const pid_t child = fork();
  if (child == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(binary.c_str(), binary.c_str(), "run", experiment.c_str(), "--quiet", "--threads", "1", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const fs::path second_checkpoint = out / "runs" / "tensor_rank-r2-n6-s0" / "checkpoint.pt";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(second_checkpoint) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  EXPECT_FALSE(fs::exists(out / "runs" / "static-n6-s0" / "summary.json"));

  ASSERT_EQ(std::system((binary + " run " + experiment.string() + " --quiet --threads 1 --resume --out " +
                         out.string() + " > /dev/null 2>&1")
                            .c_str()),
            0);
  EXPECT_EQ(results_without_timing(out), results_without_timing(dir_ / "whole"));
}

// The selected rank is a property of the data, not of the machine's arithmetic: on a small
// rank-2 teacher, fits with 1 and with 2 threads (different LibTorch and BLAS rounding)
// select the same rank, and scoring the held-out blocks in another (trial) order changes
// neither the selection nor the paired standard errors behind it.
TEST_F(RunnerDirectory, SelectionDoesNotDependOnThreadsOrTheOrderOfHeldOutBlocks) {
  TinyExperiment tiny;
  tiny.iterations = 3000;  // a cap the fits do not reach: they stop as converged
  tiny.checkpoint_every = 100;
  tiny.report = false;
  tiny.lr_patience = 50;  // the default schedule, on the small problem's time scale
  tiny.teacher = {{"hidden", 16}, {"neurons", 16}, {"trials_per_epoch", 12}, {"bins", 20}, {"preparatory_bins", 5}};
  tiny.seeds = {0, 1};
  tiny.runs = json::parse(R"([{"model": "tensor_rank", "ranks": "1-3", "hidden": 16}])");
  const Experiment e = load_experiment(write_tiny_experiment(dir_, tiny));
  std::ostringstream log;
  std::map<int, ResultsFile> results;
  for (int threads : {1, 2}) {
    RunnerOptions options;
    options.out_dir = dir_ / ("threads" + std::to_string(threads));
    options.threads = threads;
    options.progress = false;
    run_experiment(e, options, log);
    results[threads] = read_results(options.out_dir / "results.json");
  }
  ASSERT_EQ(results[1].selected_rank.count(ModelKind::TensorRank), 1u);
  EXPECT_EQ(results[1].selected_rank, results[2].selected_rank);
  EXPECT_EQ(results[1].selected_rank.at(ModelKind::TensorRank), 2) << "the planted rank";

  // The same runs compared with their block losses in a shuffled order.
  const EntryLosses in_order = entry_losses_in(dir_ / "threads1");
  const ComparisonTable table = compare_runs(results[1].runs, in_order);
  const int64_t blocks = static_cast<int64_t>(in_order(results[1].runs.front()).size() / 2);
  ASSERT_GT(blocks, 4);
  std::vector<int64_t> order(static_cast<std::size_t>(blocks));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  const EntryLosses shuffled = [&](const RunRecord& run) {
    const std::vector<double> pairs = in_order(run);
    std::vector<double> out;
    for (int64_t g : order) out.insert(out.end(), pairs.begin() + 2 * g, pairs.begin() + 2 * g + 2);
    return out;
  };
  const ComparisonTable permuted = compare_runs(results[1].runs, shuffled);
  EXPECT_EQ(permuted.selected_rank, table.selected_rank);
  int64_t paired = 0;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    if (std::isnan(table.rows[i].paired_se)) continue;
    ++paired;
    EXPECT_NEAR(permuted.rows[i].paired_se, table.rows[i].paired_se, 1e-12 * table.rows[i].paired_se) << i;
  }
  EXPECT_GE(paired, 2) << "the paired errors were computed";
}

}  // namespace
}  // namespace ltrnn
