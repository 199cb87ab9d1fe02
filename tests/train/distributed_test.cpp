// Distributed fits (docs/design.md section 9): where the processes meet, which trials each
// fits, and real `ltrnn fit --distributed` processes talking c10d/Gloo over 127.0.0.1
// against a single-process fit, with a process killed and the fit resumed.
#include "train/distributed.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "child_process.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string error_of(const std::map<std::string, std::string>& variables) {
  try {
    distributed_setup(environment_of(variables));
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

TEST(DistributedSetup, FromTorchrunOrSlurmVariables) {
  const DistributedSetup torchrun = distributed_setup(
      environment_of({{"RANK", "2"}, {"WORLD_SIZE", "3"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "1234"}}));
  EXPECT_EQ(torchrun.rank, 2);
  EXPECT_EQ(torchrun.world_size, 3);
  EXPECT_EQ(torchrun.master_address, "10.0.0.5");
  EXPECT_EQ(torchrun.port, 1234);
  const DistributedSetup defaults = distributed_setup(environment_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}}));
  EXPECT_EQ(defaults.master_address, "127.0.0.1");
  EXPECT_EQ(defaults.port, 29500);

  const DistributedSetup srun = distributed_setup(environment_of({{"SLURM_PROCID", "1"},
                                                                  {"SLURM_NTASKS", "4"},
                                                                  {"SLURM_JOB_NODELIST", "node[07-09,12],gpu1"},
                                                                  {"SLURM_JOB_ID", "123456"}}));
  EXPECT_EQ(srun.rank, 1);
  EXPECT_EQ(srun.world_size, 4);
  EXPECT_EQ(srun.master_address, "node07");
  EXPECT_EQ(srun.port, 20000 + 123456 % 20000);
  EXPECT_EQ(srun.source, "SLURM");

  EXPECT_EQ(first_slurm_host("vm"), "vm");
  EXPECT_EQ(first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(first_slurm_host("rack[3-4]-n[01-02]"), "rack3-n[01-02]");
  EXPECT_EQ(first_slurm_host("gpu[010,012]"), "gpu010");

  EXPECT_NE(error_of({}).find("neither RANK and WORLD_SIZE"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}}).find("WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "3"}, {"WORLD_SIZE", "3"}}).find("rank 3 is not in 0..2"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "3"}}).find("RANK must be a whole number"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT must be"),
            std::string::npos);
}

TEST(DistributedSetup, SharesAreContiguousAndCoverEveryTrialOnce) {
  for (const int64_t trials : {1, 2, 7, 60, 1000})
    for (int world = 1; world <= std::min<int64_t>(trials, 5); ++world) {
      int64_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        const auto [begin, end] = trial_share(trials, rank, world);
        EXPECT_EQ(begin, next);
        EXPECT_GE(end - begin, trials / world);
        EXPECT_LE(end - begin, trials / world + 1);
        next = end;
      }
      EXPECT_EQ(next, trials);
    }
}

// log.csv as rows of numbers: iteration, train, test, seconds, validation (the optimizer
// column, a word, left out).
std::vector<std::vector<double>> log_rows(const fs::path& log) {
  std::vector<std::vector<double>> rows;
  std::istringstream in(read_file(log));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::istringstream fields(line);
    for (std::string field; row.size() < 5 && std::getline(fields, field, ',');) row.push_back(std::stod(field));
    rows.push_back(row);
  }
  return rows;
}

class DistributedFit : public ::testing::Test {
 protected:
  ScratchDirectory scratch;
  fs::path data;
  // Distinct ports per test process and per use (tests run in parallel).
  int next_port = 30000 + static_cast<int>(getpid() % 5000) * 4;

  void SetUp() override {
    data = scratch / "teacher.npz";
    const Outcome simulated = run_ltrnn(
        "simulate teacher --rank 2 --hidden 16 --neurons 16 --trials-per-epoch 10 "
        "--bins 16 --out " +
        data.string());
    ASSERT_EQ(simulated.exit_code, 0) << simulated.output;
  }
  std::vector<std::string> fit_args(const fs::path& out, int64_t iterations) const {
    return {"fit",
            "--data",
            data.string(),
            "--rank",
            "2",
            "--hidden",
            "12",
            "--iterations",
            std::to_string(iterations),
            "--checkpoint-every",
            "10",
            "--threads",
            "1",
            "--quiet",
            "--out",
            out.string()};
  }
  std::vector<Child> start_processes(int world, const fs::path& out, int64_t iterations, bool resume = false,
                                     const std::string& timeout = "60") {
    const int port = next_port++;
    std::vector<Child> children;
    for (int rank = 0; rank < world; ++rank) {
      std::vector<std::string> args = fit_args(out, iterations);
      args.insert(args.end(), {"--distributed", "--distributed-timeout", timeout});
      if (resume) args.push_back("--resume");
      children.push_back(start_ltrnn(
          args,
          scratch / (out.filename().string() + "-rank" + std::to_string(rank) + (resume ? "-resumed" : "") + ".log"),
          {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world), "MASTER_ADDR=127.0.0.1",
           "MASTER_PORT=" + std::to_string(port)}));
    }
    return children;
  }
  static std::string command_line(const std::vector<std::string>& args) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    return line;
  }
  static void expect_exit_0(const std::vector<Child>& children) {
    for (const Child& child : children) {
      const int status = wait_for(child);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output_of(child);
    }
  }
  // Every iteration's losses and the final scores within `tolerance` (relative).
  static void expect_same_fit(const fs::path& distributed, const fs::path& single, double tolerance) {
    const std::string log = "runs/tensor_rank-r2-n12-s0/log.csv";
    const auto a = log_rows(distributed / log), b = log_rows(single / log);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      for (const std::size_t column : {1u, 2u, 4u})
        EXPECT_NEAR(a[i][column], b[i][column], tolerance * std::abs(b[i][column]))
            << "iteration " << a[i][0] << ", column " << column;
    const json x = json::parse(read_file(distributed / "results.json"))["runs"][0];
    const json y = json::parse(read_file(single / "results.json"))["runs"][0];
    for (const char* score : {"test_nmse", "validation_loss", "train_loss"})
      EXPECT_NEAR(x[score].get<double>(), y[score].get<double>(), tolerance * y[score].get<double>()) << score;
    EXPECT_EQ(x["iterations"], y["iterations"]);
  }
};

// 2 and 3 processes over 127.0.0.1 against one process: the same losses at every one of
// 200 iterations within 1e-5 relative (the sums are only reordered).
TEST_F(DistributedFit, TwoAndThreeProcessesMatchOneProcess) {
  const fs::path single = scratch / "single";
  const Outcome one = run_ltrnn(command_line(fit_args(single, 200)));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  for (const int world : {2, 3}) {
    const fs::path out = scratch / ("world" + std::to_string(world));
    const std::vector<Child> children = start_processes(world, out, 200);
    expect_exit_0(children);
    expect_same_fit(out, single, 1e-5);
    EXPECT_NE(output_of(children[1]).find("rank 1 of " + std::to_string(world) + " finished"), std::string::npos)
        << output_of(children[1]);
    EXPECT_FALSE(fs::exists(out / "runs" / "tensor_rank-r2-n12-s0" / "summary.json") &&
                 output_of(children[1]).find("rank 0 writes") == std::string::npos);
  }
}

// A process killed mid-fit: the other stops within its timeout saying which rank it is and
// why, leaving the checkpoint and no summary; both re-run with --resume finish the fit,
// equal to one uninterrupted process.
TEST_F(DistributedFit, AKilledProcessStopsTheOthersAndTheFitResumes) {
  const fs::path single = scratch / "single", out = scratch / "killed";
  const Outcome one = run_ltrnn(command_line(fit_args(single, 300)));
  ASSERT_EQ(one.exit_code, 0) << one.output;

  const fs::path checkpoint = out / "runs" / "tensor_rank-r2-n12-s0" / "checkpoint.pt";
  std::vector<Child> children = start_processes(2, out, 300, false, "20");
  ASSERT_TRUE(wait_until([&] { return fs::exists(checkpoint); }, 120)) << output_of(children[0]);
  kill(children[1].pid, SIGKILL);
  wait_for(children[1]);
  const auto killed_at = std::chrono::steady_clock::now();
  const int status = wait_for(children[0]);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count(), 25.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << output_of(children[0]);
  EXPECT_NE(output_of(children[0]).find("distributed fit, rank 0 of 2: the sum of the gradients of iteration"),
            std::string::npos)
      << output_of(children[0]);
  EXPECT_NE(output_of(children[0]).find("another process of the fit stopped or cannot be reached"), std::string::npos)
      << output_of(children[0]);
  EXPECT_FALSE(fs::exists(out / "runs" / "tensor_rank-r2-n12-s0" / "summary.json"));
  EXPECT_FALSE(fs::exists(out / "results.json"));

  expect_exit_0(start_processes(2, out, 300, true));
  expect_same_fit(out, single, 1e-5);
}

// Processes that would start from different states (here: different data files; likewise a
// rank that does not see rank 0's checkpoint on --resume) are refused before the first step.
TEST_F(DistributedFit, ProcessesThatDoNotStartFromTheSameStateAreRefused) {
  const fs::path other = scratch / "other.npz";
  const Outcome simulated = run_ltrnn(
      "simulate teacher --rank 2 --hidden 16 --neurons 16 --trials-per-epoch 10 "
      "--bins 16 --seed 9 --out " +
      other.string());
  ASSERT_EQ(simulated.exit_code, 0) << simulated.output;
  const int port = next_port++;
  std::vector<Child> children;
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<std::string> args = fit_args(scratch / "mixed", 50);
    if (rank == 1) args[2] = other.string();  // --data
    args.insert(args.end(), {"--distributed", "--distributed-timeout", "20"});
    children.push_back(start_ltrnn(args, scratch / ("mixed-rank" + std::to_string(rank)),
                                   {"RANK=" + std::to_string(rank), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                                    "MASTER_PORT=" + std::to_string(port)}));
  }
  for (const Child& child : children) {
    const int status = wait_for(child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << output_of(child);
    EXPECT_NE(output_of(child).find("rank 1 and rank 0 differ in the state a distributed fit starts from"),
              std::string::npos)
        << output_of(child);
  }
  EXPECT_FALSE(fs::exists(scratch / "mixed" / "runs" / "tensor_rank-r2-n12-s0" / "checkpoint.pt"));
}

TEST_F(DistributedFit, AProcessWhosePeersNeverStartStopsWithinItsTimeout) {
  const fs::path out = scratch / "alone";
  std::vector<std::string> args = fit_args(out, 50);
  args.insert(args.end(), {"--distributed", "--distributed-timeout", "3"});
  const Child alone =
      start_ltrnn(args, scratch / "alone.log",
                  {"RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(next_port++)});
  const int status = wait_for(alone);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << output_of(alone);
  EXPECT_NE(output_of(alone).find("distributed fit, rank 1 of 2: could not meet the other processes at 127.0.0.1:"),
            std::string::npos)
      << output_of(alone);
  EXPECT_FALSE(fs::exists(out)) << "only rank 0 writes";
}

// `ltrnn run --distributed` by two processes: the run marked "distributed" is fitted by both
// (equal to one process within 1e-5), the other by rank 0 alone (equal in every number);
// rank 1 writes nothing; a resume skips what is finished in both processes.
TEST_F(DistributedFit, AnExperimentsDistributedRunsAreFittedByEveryProcess) {
  const json experiment = {
      {"name", "distributed"},
      {"dataset",
       {{"generator", "teacher"},
        {"parameters",
         {{"hidden", 8}, {"neurons", 6}, {"trials_per_epoch", 6}, {"bins", 10}, {"preparatory_bins", 3}}}}},
      {"train", {{"iterations", 150}, {"checkpoint_every", 10}}},
      {"outputs", {{"report", false}}},
      {"runs", json::parse(R"([{"model": "tensor_rank", "ranks": [2], "hidden": 6, "distributed": true},
                               {"model": "static", "hidden": 6}])")}};
  const fs::path file = scratch / "distributed.json", single = scratch / "single", out = scratch / "together";
  write_file_atomic(file, experiment.dump());
  const Outcome one = run_ltrnn("run " + file.string() + " --out " + single.string() + " --threads 1 --quiet");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_NE(one.output.find("tensor_rank-r2-n6-s0  (150 iterations max, ~"), std::string::npos) << one.output;
  EXPECT_NE(one.output.find("1 run(s) marked \"distributed\" are fitted by this one process"), std::string::npos);

  const auto start_both = [&](bool resume) {
    const int port = next_port++;
    std::vector<Child> children;
    for (int rank = 0; rank < 2; ++rank) {
      std::vector<std::string> args{"run",       file.string(), "--out",   out.string(),
                                    "--threads", "1",           "--quiet", "--distributed"};
      if (resume) args.push_back("--resume");
      children.push_back(start_ltrnn(args, scratch / ("run-rank" + std::to_string(rank) + (resume ? "-again" : "")),
                                     {"RANK=" + std::to_string(rank), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                                      "MASTER_PORT=" + std::to_string(port)}));
    }
    return children;
  };
  const std::vector<Child> both = start_both(false);
  expect_exit_0(both);
  EXPECT_NE(output_of(both[1]).find("tensor_rank-r2-n6-s0: rank 1 finished after"), std::string::npos)
      << output_of(both[1]);
  EXPECT_EQ(output_of(both[1]).find("static"), std::string::npos) << "rank 0 fits the other runs alone";

  const json a = json::parse(read_file(out / "results.json")), b = json::parse(read_file(single / "results.json"));
  ASSERT_EQ(a["runs"].size(), 2u);
  for (const char* score : {"test_nmse", "validation_loss", "train_loss"})
    EXPECT_NEAR(a["runs"][0][score].get<double>(), b["runs"][0][score].get<double>(),
                1e-5 * b["runs"][0][score].get<double>())
        << score;
  json x = a["runs"][1], y = b["runs"][1];
  x.erase("seconds");
  y.erase("seconds");
  EXPECT_EQ(x, y);

  // A rank other than 0 of an experiment without distributed runs has nothing to do.
  const fs::path plain_file = scratch / "plain.json";
  json plain_experiment = experiment;
  plain_experiment["runs"][0].erase("distributed");
  write_file_atomic(plain_file, plain_experiment.dump());
  const Outcome idle = run_ltrnn("run " + plain_file.string() + " --out " + (scratch / "idle").string() +
                                     " --distributed --distributed-timeout 5 --quiet",
                                 "RANK=1 WORLD_SIZE=2 MASTER_PORT=" + std::to_string(next_port++));
  EXPECT_EQ(idle.exit_code, 0) << idle.output;
  EXPECT_NE(idle.output.find("no run of the plan is marked \"distributed\""), std::string::npos) << idle.output;

  const std::vector<Child> again = start_both(true);
  expect_exit_0(again);
  EXPECT_NE(output_of(again[0]).find("tensor_rank-r2-n6-s0: already finished"), std::string::npos)
      << output_of(again[0]);
  EXPECT_EQ(output_of(again[1]).find("rank 1 finished"), std::string::npos) << output_of(again[1]);
}

}  // namespace
}  // namespace ltrnn
