// One-line error messages, atomic writes' errors, and the output directory's lock.
#include "util/errors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "scratch_directory.h"
#include "util/directory_lock.h"
#include "util/files.h"
#include "util/interrupt.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

TEST(OneLineMessage, DropsLibTorchsBacktraceAndJoinsLines) {
  try {
    TORCH_CHECK(false, "tensor sizes differ: 3 vs 4");
    FAIL() << "TORCH_CHECK did not throw";
  } catch (const c10::Error& error) {
    ASSERT_NE(std::string(error.what()).find("Exception raised from"), std::string::npos)
        << "LibTorch's message no longer carries a backtrace; this test no longer tests anything";
    EXPECT_EQ(one_line_message(error), "tensor sizes differ: 3 vs 4");
  }
  EXPECT_EQ(one_line_message(std::runtime_error("first\nsecond\n")), "first; second");
  // The allocator's errors (TORCH_ENFORCE) carry their frames without that header.
  try {
    const torch::Tensor impossible = torch::empty({int64_t{1} << 40}, torch::kFloat64);
    FAIL() << "allocated 8 EiB";
  } catch (const c10::Error& error) {
    const std::string line = one_line_message(error);
    EXPECT_NE(line.find("can't allocate memory"), std::string::npos) << line;
    EXPECT_EQ(line.find("frame #"), std::string::npos) << line;
    EXPECT_EQ(line, error.what_without_backtrace()) << "differs from LibTorch's own message without backtrace";
  }
}

TEST(WriteFileAtomic, AFailedWriteNamesTheFileAndTheReason) {
  ScratchDirectory scratch;
  const fs::path blocked = scratch.path() / "file";
  write_file_atomic(blocked, "x");
  // A directory cannot be created where a file is: the same error path as a full disk.
  try {
    write_file_atomic(blocked / "inner.json", "{}");
    FAIL() << "no error";
  } catch (const WriteError& error) {
    EXPECT_EQ(std::string(error.what()), blocked.string() + ": cannot write: " + std::strerror(error.error_number));
    EXPECT_NE(error.error_number, 0);
  }
  for (const auto& entry : fs::directory_iterator(scratch.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST(RemoveTemporaryFiles, RemovesOnlyTheTemporariesOfAtomicWrites) {
  ScratchDirectory scratch;
  const fs::path runs = scratch.path() / "runs" / "a";
  write_file_atomic(runs / ".checkpoint.pt.tmp3f9a0c", "half");
  write_file_atomic(scratch.path() / ".results.json.tmpffee", "half");
  write_file_atomic(runs / "notes.tmp", "kept");
  write_file_atomic(runs / "summary.json", "{}");
  EXPECT_EQ(remove_temporary_files(scratch.path()), 2);
  EXPECT_FALSE(fs::exists(runs / ".checkpoint.pt.tmp3f9a0c"));
  EXPECT_TRUE(fs::exists(runs / "notes.tmp"));
  EXPECT_TRUE(fs::exists(runs / "summary.json"));
}

TEST(DirectoryLock, ASecondHolderIsRefusedWithTheFirstsPidAndAReleasedLockIsFree) {
  ScratchDirectory scratch;
  {
    const DirectoryLock first(scratch.path());
    EXPECT_TRUE(first.takeover_note().empty());
    try {
      const DirectoryLock second(scratch.path());  // a separate open file: flock refuses it
      FAIL() << "the second lock was granted";
    } catch (const InputError& error) {
      EXPECT_NE(std::string(error.what()).find("in use by another ltrnn process (pid " + std::to_string(getpid())),
                std::string::npos)
          << error.what();
    }
  }
  const DirectoryLock again(scratch.path());
  EXPECT_TRUE(again.takeover_note().empty()) << "a cleanly released lock is not stale";
}

TEST(DirectoryLock, ALockFileLeftByADeadProcessIsTakenOver) {
  ScratchDirectory scratch;
  write_file_atomic(scratch.path() / ".lock", "pid 999999 on host elsewhere, since 2026-01-01 00:00:00 UTC\n");
  const DirectoryLock lock(scratch.path());
  EXPECT_NE(lock.takeover_note().find("took over the lock of " + scratch.path().string() + " left by pid 999999"),
            std::string::npos)
      << lock.takeover_note();
}

TEST(Interrupt, NamesTheSignals) {
  EXPECT_STREQ(signal_name(SIGINT), "SIGINT");
  EXPECT_STREQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(interrupt_signal(), 0);
  EXPECT_NO_THROW(throw_if_interrupted("nothing asked"));
}

}  // namespace
}  // namespace ltrnn
