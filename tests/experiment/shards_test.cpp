// Shards of one experiment in one output directory (docs/design.md section 9): which runs a
// shard owns, real `ltrnn run --shard` processes side by side with one killed and resumed,
// `ltrnn collect` against one unsharded run, the refusals, and the sbatch files.
#include "experiment/shards.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "child_process.h"
#include "io/npy.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "tiny_experiment.h"
#include "util/directory_lock.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const InputError& error) {
    return error.what();
  }
  return "";
}

TEST(Shards, ParsedFromTheOptionOrFromASlurmArrayTask) {
  const Shard shard = parse_shard("2/3");
  EXPECT_EQ(shard.index, 2);
  EXPECT_EQ(shard.count, 3);
  EXPECT_EQ(shard.text(), "2/3");
  for (const char* bad : {"3/3", "1/0", "-1/3", "a/3", "1", "1/", "/3", "1/3/4", ""})
    EXPECT_NE(error_of([&] { parse_shard(bad); }).find("--shard: expected I/N"), std::string::npos) << bad;

  // An array submitted as --array=3-6: task 5 is shard 2 of 4.
  const Shard task = parse_shard(
      "slurm",
      environment_of({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  EXPECT_EQ(task.index, 2);
  EXPECT_EQ(task.count, 4);
  EXPECT_NE(error_of([] {
              parse_shard("slurm", environment_of({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "3"}}));
            }).find("SLURM_ARRAY_TASK_COUNT is not set"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_shard("slurm", environment_of({{"SLURM_ARRAY_TASK_ID", "x"},
                                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "2"}}));
            }).find("SLURM_ARRAY_TASK_ID must be a whole number"),
            std::string::npos);
  // --array=0,4 has 2 tasks, the second at index 4: it would own nothing of 0..1.
  EXPECT_NE(error_of([] {
              parse_shard("slurm", environment_of({{"SLURM_ARRAY_TASK_ID", "4"},
                                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "2"}}));
            }).find("without gaps or steps"),
            std::string::npos);
}

TEST(Shards, EveryRunBelongsToExactlyOneShard) {
  for (const std::size_t plan_size : {1, 5, 14})
    for (int64_t count = 1; count <= static_cast<int64_t>(plan_size); ++count) {
      std::multiset<std::size_t> seen;
      for (int64_t index = 0; index < count; ++index)
        for (const std::size_t i : runs_of_shard(plan_size, {index, count})) {
          EXPECT_EQ(static_cast<int64_t>(i % static_cast<std::size_t>(count)), index);
          seen.insert(i);
        }
      ASSERT_EQ(seen.size(), plan_size);
      for (std::size_t i = 0; i < plan_size; ++i) EXPECT_EQ(seen.count(i), 1u) << i << " of " << plan_size;
    }
}

// The same keys with the same dtype, shape and bytes (the zip entries' times differ).
bool same_arrays(const fs::path& a, const fs::path& b) {
  const auto x = read_npz(a), y = read_npz(b);
  if (x.size() != y.size()) return false;
  for (const auto& [key, array] : x) {
    const auto it = y.find(key);
    if (it == y.end() || it->second.dtype != array.dtype || it->second.shape != array.shape ||
        it->second.bytes != array.bytes)
      return false;
  }
  return true;
}

class ShardedRun : public ::testing::Test {
 protected:
  ScratchDirectory scratch;
  fs::path experiment;
  void SetUp() override {
    TinyExperiment tiny;
    tiny.iterations = 300;
    tiny.checkpoint_every = 10;
    tiny.seeds = {0, 1};
    tiny.report = false;
    tiny.more_train = {{"ladder", false}};                     // shards fit the seeds' runs (the ladder: one process)
    experiment = write_tiny_experiment(scratch.path(), tiny);  // 6 runs
  }
  Child shard(const std::string& which, const fs::path& out, bool resume = false) {
    std::vector<std::string> args{"run", experiment.string(), "--out", out.string(), "--shard",
                                  which, "--threads",         "1",     "--quiet"};
    if (resume) args.push_back("--resume");
    return start_ltrnn(args,
                       scratch / ("shard-" + std::to_string(which[0] - '0') + (resume ? "-resumed" : "") + ".log"));
  }
};

// Three shards start at once in one directory; shard 1 is killed (SIGKILL) in its first run
// and re-run with --resume; `ltrnn collect` then gives the results.json of one `ltrnn run`,
// every number equal.
TEST_F(ShardedRun, ThreeShardsWithOneKilledAndResumedCollectToTheResultsOfOneRun) {
  const fs::path plain = scratch / "plain", out = scratch / "sharded";
  const Outcome one_run = run_ltrnn("run " + experiment.string() + " --out " + plain.string() + " --threads 1 --quiet");
  ASSERT_EQ(one_run.exit_code, 0) << one_run.output;
  const json plan = json::parse(read_file(plain / "experiment.json"))["plan"];
  ASSERT_EQ(plan.size(), 6u);
  const std::string first_of_shard_1 = plan[1]["id"];

  std::vector<Child> shards{shard("0/3", out), shard("1/3", out), shard("2/3", out)};
  ASSERT_TRUE(wait_until([&] { return fs::exists(out / "runs" / first_of_shard_1 / "checkpoint.pt"); }, 120))
      << output_of(shards[1]);
  kill(shards[1].pid, SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(wait_for(shards[1])));
  for (const std::size_t s : {0u, 2u}) {
    const int status = wait_for(shards[s]);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output_of(shards[s]);
    EXPECT_NE(output_of(shards[s]).find("Once every shard has finished: ltrnn collect"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(out / "results.json")) << "no shard writes results.json";

  // Collect before shard 1 is done: the results so far, and its runs listed as its own.
  const Outcome early = run_ltrnn("collect " + out.string());
  EXPECT_EQ(early.exit_code, 3) << early.output;  // incomplete
  EXPECT_NE(early.output.find("collected 4 of 6 runs"), std::string::npos) << early.output;
  EXPECT_NE(early.output.find(first_of_shard_1 + " (shard 1/3, has a checkpoint)"), std::string::npos) << early.output;
  EXPECT_NE(early.output.find(plan[4]["id"].get<std::string>() + " (shard 1/3)"), std::string::npos) << early.output;

  // A shard re-run without --resume is refused; with it, it continues from the checkpoint.
  const Outcome again = run_ltrnn("run " + experiment.string() + " --out " + out.string() + " --shard 1/3 --quiet");
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("already exists (shard 1/3 ran before); pass --resume"), std::string::npos)
      << again.output;
  const Child resumed = shard("1/3", out, true);
  const int status = wait_for(resumed);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output_of(resumed);

  const Outcome collected = run_ltrnn("collect " + out.string());
  ASSERT_EQ(collected.exit_code, 0) << collected.output;
  EXPECT_NE(collected.output.find("collected 6 of 6 runs"), std::string::npos) << collected.output;
  EXPECT_EQ(results_without_timing(out), results_without_timing(plain));
  for (const char* file : {"masks.npz", "dataset.npz"}) EXPECT_TRUE(same_arrays(out / file, plain / file)) << file;
  const json record = json::parse(read_file(out / "shards" / "1-of-3.json"));
  EXPECT_EQ(record["state"], "finished");
  EXPECT_EQ(record["runs"], json({plan[1]["id"], plan[4]["id"]}));
}

TEST_F(ShardedRun, ADuplicateShardAnUnshardedRunAndAnotherExperimentAreRefused) {
  const fs::path out = scratch / "out";
  const Outcome first = run_ltrnn("run " + experiment.string() + " --out " + out.string() + " --shard 0/2 --quiet");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  {
    // While a process holds shard 1/2, a second one is refused naming it.
    const DirectoryLock held(out, LockMode::Exclusive, ".shard-1-of-2.lock");
    const Outcome second =
        run_ltrnn("run " + experiment.string() + " --out " + out.string() + " --shard 1/2 --resume --quiet");
    EXPECT_EQ(second.exit_code, 2) << second.output;
    EXPECT_NE(second.output.find("in use by another ltrnn process (pid " + std::to_string(getpid())), std::string::npos)
        << second.output;
  }
  {
    // While any shard holds the directory, an unsharded run and `collect` are refused.
    const DirectoryLock shards(out, LockMode::Shared);
    for (const std::string& command :
         {"run " + experiment.string() + " --out " + out.string() + " --resume --quiet", "collect " + out.string()}) {
      const Outcome refused = run_ltrnn(command);
      EXPECT_EQ(refused.exit_code, 2) << refused.output;
      EXPECT_NE(refused.output.find("the shards of a sharded run"), std::string::npos) << refused.output;
    }
  }
  {
    // A run another process holds (a shard of another count, a resubmitted task) is
    // skipped, not written twice; collect lists it, and a failed run, as still to do.
    const fs::path busy_run = out / "runs" / "tensor_rank-r1-n6-s1";
    fs::create_directories(busy_run);
    const DirectoryLock held(busy_run);
    const Outcome other =
        run_ltrnn("run " + experiment.string() + " --out " + out.string() + " --shard 0/1 --resume --quiet");
    EXPECT_EQ(other.exit_code, 0) << other.output;
    EXPECT_NE(other.output.find("tensor_rank-r1-n6-s1: skipped, " + busy_run.string() +
                                " is in use by another ltrnn process"),
              std::string::npos)
        << other.output;
    EXPECT_FALSE(fs::exists(busy_run / "summary.json"));
  }
  json summary = json::parse(read_file(out / "runs" / "static-n6-s0" / "summary.json"));
  summary["summary"]["status"] = "failed: out of memory";
  write_file_atomic(out / "runs" / "static-n6-s0" / "summary.json", summary.dump());
  const Outcome collected = run_ltrnn("collect " + out.string());
  EXPECT_EQ(collected.exit_code, 3) << collected.output;
  EXPECT_NE(collected.output.find("tensor_rank-r1-n6-s1 (shard 0/1)"), std::string::npos) << collected.output;
  EXPECT_NE(collected.output.find("static-n6-s0 (failed: out of memory; shard 0/1, 0/2)"), std::string::npos)
      << collected.output;

  // A shard whose generated data differ from dataset.npz (written by the first shard) is refused.
  TinyExperiment other_teacher;
  other_teacher.teacher["seed"] = 5;
  const fs::path elsewhere = scratch / "elsewhere";
  fs::create_directories(elsewhere);
  const Outcome other_data = run_ltrnn(
      "simulate teacher --rank 2 --hidden 8 --neurons 6 --trials-per-epoch 5 --bins 10 "
      "--preparatory-bins 3 --seed 5 --out " +
      (elsewhere / "dataset.npz").string());
  ASSERT_EQ(other_data.exit_code, 0) << other_data.output;
  const std::string original = read_file(out / "dataset.npz");
  write_file_atomic(out / "dataset.npz", read_file(elsewhere / "dataset.npz"));
  const Outcome different =
      run_ltrnn("run " + experiment.string() + " --out " + out.string() + " --shard 1/2 --resume --quiet");
  EXPECT_EQ(different.exit_code, 2) << different.output;
  EXPECT_NE(different.output.find("dataset.npz: the data this shard generated differ from those the first shard wrote"),
            std::string::npos)
      << different.output;
  write_file_atomic(out / "dataset.npz", original);

  // A shard of a changed experiment: the same refusal as --resume.
  TinyExperiment changed;
  changed.iterations = 301;
  changed.seeds = {0, 1};
  changed.report = false;
  const fs::path other_dir = scratch / "other";
  fs::create_directories(other_dir);
  const fs::path other = write_tiny_experiment(other_dir, changed);
  const Outcome mismatch = run_ltrnn("run " + other.string() + " --out " + out.string() + " --shard 1/2 --quiet");
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.output;
  EXPECT_NE(mismatch.output.find("experiment changed since it was started"), std::string::npos) << mismatch.output;
  EXPECT_FALSE(fs::exists(out / "runs" / "tensor_rank-r1-n6-s1" / "summary.json"))
      << "the refused shard fitted nothing";
}

TEST_F(ShardedRun, SlurmWritesAnArrayAndACollectJob) {
  const fs::path out = scratch / "grid";
  const Outcome written = run_ltrnn("slurm " + experiment.string() +
                                    " --array 3 --cpus-per-task 1 --time 01:30:00 "
                                    "--mem 2G --partition short --out " +
                                    out.string());
  ASSERT_EQ(written.exit_code, 0) << written.output;
  const std::string grid = read_file(out / "slurm" / "grid.sbatch");
  for (const std::string& line : {std::string("#SBATCH --array=0-2\n"), std::string("#SBATCH --cpus-per-task=1\n"),
                                  std::string("#SBATCH --time=01:30:00\n"), std::string("#SBATCH --mem=2G\n"),
                                  std::string("#SBATCH --partition=short\n"),
                                  " run " + fs::absolute(experiment).string() + " --out " + fs::absolute(out).string() +
                                      " --shard slurm --resume --threads 1\n"})
    EXPECT_NE(grid.find(line), std::string::npos) << line << "\nnot in\n" << grid;
  const std::string collect = read_file(out / "slurm" / "collect.sbatch");
  EXPECT_NE(collect.find(" collect " + fs::absolute(out).string()), std::string::npos) << collect;
  EXPECT_NE(written.output.find("sbatch --dependency=afterany:"), std::string::npos) << written.output;

  for (const auto& [options, message] :
       std::vector<std::pair<std::string, std::string>>{{"--array 7", "--array: must be 1..6"},
                                                        {"--array 0", "--array: must be 1..6"},
                                                        {"--array 2 --time 1h", "--time: expected HH:MM:SS"},
                                                        {"--array 2 --mem lots", "--mem: expected a size"},
                                                        {"--array 2 --partition 'a b'", "--partition: expected"},
                                                        {"", "--array: required"}}) {
    const Outcome refused =
        run_ltrnn("slurm " + experiment.string() + " " + options + " --out " + (scratch / "refused").string());
    EXPECT_EQ(refused.exit_code, 2) << options << "\n" << refused.output;
    EXPECT_NE(refused.output.find(message), std::string::npos) << options << "\n" << refused.output;
  }
  EXPECT_FALSE(fs::exists(scratch / "refused" / "slurm" / "grid.sbatch"));
}

}  // namespace
}  // namespace ltrnn
