// Reliability of `ltrnn run` as a user meets it: Ctrl-C and SIGTERM, a second process on
// the same output directory, a full disk (a real tmpfs), and runs too large for the machine.
// Each interrupted or failed experiment is resumed and must equal an uninterrupted run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.h"
#include "run_ltrnn.h"
#include "scratch_directory.h"
#include "test_paths.h"
#include "tiny_experiment.h"
#include "util/files.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<fs::path> temporary_files(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp") != std::string::npos) found.push_back(entry.path());
  return found;
}

class Reliability : public ::testing::Test {
 protected:
  ScratchDirectory scratch_;
  const fs::path dir_ = scratch_.path();

  // No report: its 1 MB of inlined chart libraries would dominate the disk-full arithmetic.
  fs::path write_experiment(int64_t iterations) const {
    TinyExperiment tiny;
    tiny.iterations = iterations;
    tiny.checkpoint_every = 25;
    tiny.report = false;
    return write_tiny_experiment(dir_, tiny);
  }
  std::vector<std::string> run_args(const fs::path& experiment, const fs::path& out, bool resume = false) const {
    std::vector<std::string> args{"run", experiment.string(), "--quiet", "--threads", "1", "--out", out.string()};
    if (resume) args.push_back("--resume");
    return args;
  }
  std::string command(const std::vector<std::string>& args) const {
    std::string line;
    for (const auto& a : args) line += a + " ";
    return line;
  }
  // The uninterrupted run every interrupted one is compared with.
  json reference(const fs::path& experiment) const {
    const fs::path out = dir_ / "whole";
    const Outcome whole = run_ltrnn(command(run_args(experiment, out)));
    EXPECT_EQ(whole.exit_code, 0) << whole.output;
    return results_without_timing(out);
  }
};

// The last iteration in a run's log.csv (-1 when it has no rows).
int64_t last_logged_iteration(const fs::path& log_csv) {
  std::istringstream lines(read_file(log_csv));
  std::string line, last;
  std::getline(lines, line);  // header
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  return last.empty() ? -1 : std::stoll(last.substr(0, last.find(',')));
}

// The iteration N of "interrupted at iteration N" in a message (-1 when absent).
int64_t interrupted_iteration(const std::string& output) {
  const std::string marker = "interrupted at iteration ";
  const auto at = output.find(marker);
  return at == std::string::npos ? -1 : std::stoll(output.substr(at + marker.size()));
}

// SIGINT or SIGTERM while the second run fits: a checkpoint at the next iteration, a
// message with the command that resumes, exit 128 + signal within seconds; the resumed
// experiment equals an uninterrupted one.
class InterruptSignals : public Reliability, public ::testing::WithParamInterface<int> {};

TEST_P(InterruptSignals, SaveACheckpointExitWithTheShellsCodeAndResumeToTheSameResults) {
  const int signal_number = GetParam();
  const fs::path experiment = write_experiment(600);
  const fs::path out = dir_ / "interrupted";
  const Child child = start_ltrnn(run_args(experiment, out), dir_ / "interrupted.log");
  const fs::path second_run = out / "runs" / "tensor_rank-r2-n6-s0";
  // Inside the fit, past its tau pilot: the first periodic checkpoint (iteration 25) is
  // written; the interrupt's own checkpoint must then hold every iteration up to the stop.
  ASSERT_TRUE(wait_until([&] { return fs::exists(second_run / "log.csv"); }, 120)) << output_of(child);
  const auto signalled = Clock::now();
  kill(child.pid, signal_number);
  const int status = wait_for(child);
  const double seconds = std::chrono::duration<double>(Clock::now() - signalled).count();
  const std::string output = read_file(child.output);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 128 + signal_number) << output;
  EXPECT_LT(seconds, 5.0);
  EXPECT_NE(output.find(signal_number == SIGINT ? "(SIGINT)" : "(SIGTERM)"), std::string::npos) << output;
  EXPECT_NE(output.find("continue with: ltrnn run " + experiment.string() + " --out " + out.string() + " --resume"),
            std::string::npos)
      << output;
  EXPECT_TRUE(fs::exists(out / "runs" / "tensor_rank-r1-n6-s0" / "summary.json"));
  EXPECT_TRUE(fs::exists(second_run / "checkpoint.pt"));
  const int64_t stopped_at = interrupted_iteration(output);
  EXPECT_GT(stopped_at, 0) << output;
  EXPECT_NE(output.find("interrupted at iteration " + std::to_string(stopped_at) + ", checkpoint saved"),
            std::string::npos)
      << output;
  EXPECT_EQ(last_logged_iteration(second_run / "log.csv"), stopped_at);
  EXPECT_FALSE(fs::exists(second_run / "summary.json"));
  EXPECT_TRUE(temporary_files(out).empty());

  const Outcome resumed = run_ltrnn(command(run_args(experiment, out, /*resume=*/true)));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results_without_timing(out), reference(experiment));
}

// SIGINT during the tau pilot's short fits (which write no checkpoint): the message says
// the run starts over rather than promising a checkpoint, none is left behind, and the
// resumed experiment equals an uninterrupted one.
TEST_F(Reliability, AnInterruptDuringTheTauPilotSaysTheRunStartsOverAndResumesToTheSameResults) {
  // 4 x 400 pilot iterations (over a second) before a 4,800-iteration fit: the signal, sent
  // as the run's config.json appears, is acted on at the pilot's next iteration boundary.
  TinyExperiment tiny;
  tiny.iterations = 4800;
  tiny.checkpoint_every = 25;
  tiny.report = false;
  tiny.runs = json::parse(R"([{"model": "tensor_rank", "ranks": [1], "hidden": 6}])");
  tiny.more_train = {{"tau_pilot_iterations", 400}};
  const fs::path experiment = write_tiny_experiment(dir_, tiny);

  const fs::path out = dir_ / "interrupted";
  const Child child = start_ltrnn(run_args(experiment, out), dir_ / "interrupted.log");
  const fs::path run = out / "runs" / "tensor_rank-r1-n6-s0";
  ASSERT_TRUE(wait_until([&] { return fs::exists(run / "config.json"); }, 120)) << output_of(child);
  kill(child.pid, SIGINT);
  const int status = wait_for(child);
  const std::string output = read_file(child.output);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 130) << output;
  EXPECT_NE(output.find("the tau pilot's short fit from"), std::string::npos) << output;
  EXPECT_NE(output.find("(SIGINT); no checkpoint yet, this run starts over on resume"), std::string::npos) << output;
  EXPECT_EQ(output.find("checkpoint saved"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(run / "checkpoint.pt"));
  EXPECT_FALSE(fs::exists(run / "tau_pilot.json"));
  EXPECT_TRUE(temporary_files(out).empty());

  const Outcome resumed = run_ltrnn(command(run_args(experiment, out, /*resume=*/true)));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(fs::exists(run / "tau_pilot.json"));
  EXPECT_EQ(results_without_timing(out), reference(experiment));
}

INSTANTIATE_TEST_SUITE_P(Reliability, InterruptSignals, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM"); });

TEST_F(Reliability, ASecondSignalEndsTheProcessAtOnce) {
  const fs::path experiment = write_experiment(100000);
  const fs::path out = dir_ / "out";
  const Child child = start_ltrnn(run_args(experiment, out), dir_ / "out.log");
  ASSERT_TRUE(wait_until([&] { return fs::exists(out / "runs" / "tensor_rank-r1-n6-s0" / "config.json"); }, 120));
  // Both signals before the fit reaches an iteration boundary is not guaranteed, but the
  // second signal must end it whether or not the first was acted on yet.
  kill(child.pid, SIGINT);
  kill(child.pid, SIGINT);
  const int status = wait_for(child);
  EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) || (WIFEXITED(status) && WEXITSTATUS(status) == 130))
      << output_of(child);
}

// A second process on a directory in use is refused, naming the holder; once the holder
// is killed (SIGKILL: no chance to clean up), its lock is taken over.
TEST_F(Reliability, ASecondWriterIsRefusedAndAStaleLockIsTakenOver) {
  const fs::path experiment = write_experiment(100000);
  const fs::path out = dir_ / "out";
  const Child first = start_ltrnn(run_args(experiment, out), dir_ / "first.log");
  ASSERT_TRUE(wait_until([&] { return fs::exists(out / "runs" / "tensor_rank-r1-n6-s0" / "config.json"); }, 120))
      << output_of(first);

  const Outcome second = run_ltrnn(command(run_args(experiment, out, /*resume=*/true)));
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("is in use by another ltrnn process (pid " + std::to_string(first.pid) + " on host"),
            std::string::npos)
      << second.output;
  EXPECT_FALSE(fs::exists(out / "runs" / "tensor_rank-r2-n6-s0")) << "the second process started a run";

  kill(first.pid, SIGKILL);
  wait_for(first);
  const Child third = start_ltrnn(run_args(experiment, out, /*resume=*/true), dir_ / "third.log");
  ASSERT_TRUE(wait_until([&] { return output_of(third).find("took over the lock") != std::string::npos; }, 60))
      << output_of(third);
  EXPECT_NE(output_of(third).find("pid " + std::to_string(first.pid)), std::string::npos);
  kill(third.pid, SIGKILL);
  wait_for(third);
}

// A real tmpfs of a given size, unmounted at the end. Mounting needs CAP_SYS_ADMIN (root).
class Tmpfs {
 public:
  Tmpfs(const fs::path& at, int64_t bytes) : path_(at) {
    fs::create_directories(at);
    const std::string options = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0;
    error_ = mounted_ ? "" : std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool resize(int64_t bytes) {
    const std::string options = "size=" + std::to_string(bytes);
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  fs::path path_;
  bool mounted_ = false;
  std::string error_;
};

// Bytes a directory tree takes on a filesystem of 4 KiB pages.
int64_t pages_of(const fs::path& dir) {
  int64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) bytes += (static_cast<int64_t>(entry.file_size()) + 4095) / 4096 * 4096;
  return bytes;
}

// The disk fills during the second run: one line naming the file and "No space left on
// device", exit 1, no temporary file left, the finished run intact; with space freed,
// --resume ends with the results of an uninterrupted run.
TEST_F(Reliability, AFullDiskEndsTheRunCleanlyAndResumeContinuesOnceThereIsSpace) {
  const fs::path experiment = write_experiment(60);
  const json whole = reference(experiment);
  const fs::path reference_out = dir_ / "whole";
  int64_t shared = 0, largest_run = 0, largest_file = 0;
  for (const char* file : {"experiment.json", "dataset.npz", "masks.npz", "results.json", "results.csv"})
    shared += (static_cast<int64_t>(fs::file_size(reference_out / file)) + 4095) / 4096 * 4096;
  for (const auto& run : fs::directory_iterator(reference_out / "runs")) {
    largest_run = std::max(largest_run, pages_of(run.path()));
    for (const auto& file : fs::directory_iterator(run.path()))
      largest_file = std::max<int64_t>(largest_file, static_cast<int64_t>(file.file_size()));
  }
  // Room for the shared files, the first run and half of the second (plus one file being
  // replaced): the third run can never fit.
  const int64_t room = shared + largest_run * 3 / 2 + largest_file + 4 * 4096;
  Tmpfs disk(dir_ / "disk", room);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (" << disk.error() << "); needs root";
  const fs::path out = dir_ / "disk" / "out";

  const Outcome full = run_ltrnn(command(run_args(experiment, out)));
  EXPECT_EQ(full.exit_code, 1) << full.output;
  EXPECT_NE(full.output.find("ltrnn: error: " + out.string()), std::string::npos) << full.output;
  EXPECT_NE(full.output.find(": cannot write: No space left on device"), std::string::npos) << full.output;
  EXPECT_EQ(full.output.find("terminate called"), std::string::npos) << full.output;
  EXPECT_TRUE(temporary_files(out).empty());
  int finished = 0;
  for (const auto& run : whole["runs"]) {
    const fs::path summary = out / "runs" / run["id"].get<std::string>() / "summary.json";
    if (!fs::exists(summary)) continue;
    ++finished;
    json saved = json::parse(read_file(summary)),
         expected = json::parse(read_file(reference_out / "runs" / run["id"].get<std::string>() / "summary.json"));
    saved["summary"].erase("seconds");
    expected["summary"].erase("seconds");
    EXPECT_EQ(saved, expected) << run["id"];
  }
  EXPECT_GE(finished, 1) << "the disk filled before the first run finished";
  EXPECT_LT(finished, 3) << "the disk never filled";

  ASSERT_TRUE(disk.resize(64 << 20));
  const Outcome resumed = run_ltrnn(command(run_args(experiment, out, /*resume=*/true)));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(results_without_timing(out), whole);
}

// `full` with 100,000 hidden units needs terabytes: validate and run refuse it before
// anything is written, naming the entry; with --force the allocation fails and the run's
// status is LibTorch's message on one line, without its backtrace.
TEST_F(Reliability, ARunLargerThanTheMachineIsRefusedUnlessForced) {
  TinyExperiment tiny;
  tiny.iterations = 5;
  tiny.report = false;
  tiny.runs =
      json::parse(R"([{"model": "tensor_rank", "ranks": [1], "hidden": 6}, {"model": "full", "hidden": 100000}])");
  const fs::path experiment = write_tiny_experiment(dir_, tiny);

  const Outcome validated = run_ltrnn("validate " + experiment.string());
  EXPECT_EQ(validated.exit_code, 2) << validated.output;
  EXPECT_NE(validated.output.find("/runs/1: run full-n100000-s0 needs about "), std::string::npos) << validated.output;
  EXPECT_NE(validated.output.find("--force"), std::string::npos);
  const Outcome forced_plan = run_ltrnn("validate --force " + experiment.string());
  EXPECT_EQ(forced_plan.exit_code, 0) << forced_plan.output;
  EXPECT_NE(forced_plan.output.find("tensor_rank-r1-n6-s0  (5 iterations max, ~"), std::string::npos)
      << forced_plan.output;

  const fs::path out = dir_ / "out";
  const Outcome refused = run_ltrnn("run " + experiment.string() + " --quiet --out " + out.string());
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("/runs/1: run full-n100000-s0"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(out)) << "a refused experiment wrote its output directory";

  const Outcome forced = run_ltrnn("run " + experiment.string() + " --quiet --force --out " + out.string());
  EXPECT_EQ(forced.exit_code, 0) << forced.output;  // the tensor_rank run finished
  const json results = json::parse(read_file(out / "results.json"));
  ASSERT_EQ(results["runs"].size(), 2u);
  EXPECT_EQ(results["runs"][1]["status"], "failed");
  const std::string status = results["runs"][1]["status_reason"];
  EXPECT_NE(status.find("allocate"), std::string::npos) << status;
  EXPECT_EQ(status.find('\n'), std::string::npos) << status;
  EXPECT_EQ(status.find("frame #"), std::string::npos) << status;
  EXPECT_EQ(forced.output.find("frame #"), std::string::npos) << forced.output;
}

}  // namespace
}  // namespace ltrnn
