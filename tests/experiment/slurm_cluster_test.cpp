// `ltrnn slurm`'s sbatch files and an srun-started distributed fit on a real SLURM: munged, slurmctld and slurmd from
// Debian's packages started on localhost (tests/cluster/local_slurm.sh), an array of three
// shards and the collect job after it, against one `ltrnn run` of the same experiment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "child_process.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "tiny_experiment.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

// A one-node cluster for the test's lifetime.
class LocalSlurm {
 public:
  explicit LocalSlurm(const fs::path& dir) : dir_(dir) {
    started_ = run_command("bash " LTRNN_SOURCE_DIR "/tests/cluster/local_slurm.sh start " + dir.string());
  }
  ~LocalSlurm() { run_command("bash " LTRNN_SOURCE_DIR "/tests/cluster/local_slurm.sh stop " + dir_.string()); }
  const Outcome& started() const { return started_; }
  std::string environment() const { return "SLURM_CONF=" + (dir_ / "slurm.conf").string(); }

 private:
  fs::path dir_;
  Outcome started_;
};

TEST(SlurmCluster, AnArrayOfShardsThenTheCollectJobGiveTheResultsOfOneRun) {
  ScratchDirectory scratch;
  const LocalSlurm slurm(scratch / "cluster");
  if (slurm.started().exit_code == 77) GTEST_SKIP() << slurm.started().output;
  ASSERT_EQ(slurm.started().exit_code, 0) << slurm.started().output;

  TinyExperiment tiny;
  tiny.iterations = 100;
  tiny.seeds = {0, 1};
  tiny.report = false;
  tiny.more_train = {{"ladder", false}};  // shards fit the seeds' runs (the ladder: one process)
  const fs::path experiment = write_tiny_experiment(scratch.path(), tiny);  // 6 runs
  const fs::path plain = scratch / "plain", grid = scratch / "grid";
  const Outcome one_run = run_ltrnn("run " + experiment.string() + " --out " + plain.string() + " --threads 1 --quiet");
  ASSERT_EQ(one_run.exit_code, 0) << one_run.output;

  const Outcome written =
      run_ltrnn("slurm " + experiment.string() + " --array 3 --cpus-per-task 1 --time 00:10:00 --out " + grid.string());
  ASSERT_EQ(written.exit_code, 0) << written.output;
  const Outcome submitted =
      run_command("env " + slurm.environment() + " bash " + (grid / "slurm" / "submit.sh").string());
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;

  // The collect job runs after the array (afterany): wait for the queue to empty, or for a
  // job SLURM could not start (held after a failed launch).
  std::string queue;
  const bool done = wait_until(
      [&] {
        const Outcome listed = run_command("env " + slurm.environment() + " squeue -h -o '%i %r'");
        queue = listed.output;
        return listed.exit_code == 0 && (queue.empty() || queue.find("launch failed") != std::string::npos);
      },
      240);
  const auto logs = [&] {
    std::string text;
    for (const auto& entry : fs::directory_iterator(grid / "slurm"))
      if (entry.path().extension() == ".out")
        text += "== " + entry.path().filename().string() + "\n" + read_file(entry);
    return text;
  };
  ASSERT_TRUE(done) << "the jobs did not finish within 240 s\n" << queue << logs();
  ASSERT_EQ(queue, "") << read_file(scratch / "cluster" / "slurmd.log");
  ASSERT_TRUE(fs::exists(grid / "results.json")) << logs();
  const std::string all_logs = logs();
  for (const char* shard : {"shard 0/3: 2 of its 2 runs finished", "shard 1/3: 2 of its 2 runs finished",
                            "shard 2/3: 2 of its 2 runs finished", "collected 6 of 6 runs"})
    EXPECT_NE(all_logs.find(shard), std::string::npos) << shard << "\n" << all_logs;
  EXPECT_EQ(results_without_timing(grid), results_without_timing(plain));
}

// One fit over two processes started by srun: they find each other through SLURM_PROCID,
// SLURM_NTASKS and the job's node list, and match one process within 1e-5.
TEST(SlurmCluster, SrunStartsADistributedFitThatMatchesOneProcess) {
  ScratchDirectory scratch;
  const LocalSlurm slurm(scratch / "cluster");
  if (slurm.started().exit_code == 77) GTEST_SKIP() << slurm.started().output;
  ASSERT_EQ(slurm.started().exit_code, 0) << slurm.started().output;
  const fs::path data = scratch / "teacher.npz";
  const Outcome simulated = run_ltrnn(
      "simulate teacher --rank 2 --hidden 16 --neurons 16 --trials-per-epoch 10 "
      "--bins 16 --out " +
      data.string());
  ASSERT_EQ(simulated.exit_code, 0) << simulated.output;
  const std::string fit = " fit --data " + data.string() + " --rank 2 --hidden 12 --iterations 100 --threads 1 --quiet";
  const Outcome one = run_ltrnn(fit + " --out " + (scratch / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const Outcome two = run_command("env " + slurm.environment() + " timeout 180 srun --ntasks 2 --cpus-per-task 1 " +
                                  LTRNN_BINARY + fit + " --distributed --out " + (scratch / "two").string());
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("distributed fit: rank 1 of 2 (SLURM), meeting at "), std::string::npos) << two.output;
  const auto run = [&](const char* dir) {
    return nlohmann::json::parse(read_file(scratch / dir / "results.json"))["runs"][0];
  };
  for (const char* score : {"test_nmse", "validation_loss", "train_loss"})
    EXPECT_NEAR(run("two")[score].get<double>(), run("one")[score].get<double>(),
                1e-5 * run("one")[score].get<double>())
        << score;
  EXPECT_EQ(run("two")["iterations"], run("one")["iterations"]);
}

}  // namespace
}  // namespace ltrnn
