// Locks on an output directory, so two processes never write the same runs (docs/design.md
// section 7), while the shards of one sharded run share it (section 9).
#pragma once
#include <filesystem>
#include <string>

namespace ltrnn {

// How a lock is held. Exclusive: one process writes the directory (an unsharded `ltrnn
// run`, `ltrnn collect`). Shared: any number of shards of one experiment, each writing its
// own runs; an exclusive holder and shared holders exclude each other.
enum class LockMode { Exclusive, Shared };
// Whether a held lock is an error (Fail) or waited for (Wait: the shards' short setup lock).
enum class LockWait { Fail, Wait };

// Holds `dir/<file>` with flock(2) for its lifetime; an exclusive holder writes itself into
// the file ("pid 1234 on host node7, since 2026-..."). The kernel drops the lock when its
// process dies however it dies, so a lock file left by a dead process is simply taken over
// (with a note in `takeover_note`). flock works on local filesystems and on NFS (Linux maps
// it onto NFS byte-range locks, NFSv4 and NFSv3 with lockd); on a filesystem without locks
// the directory is used unlocked, with a warning in `takeover_note`.
class DirectoryLock {
 public:
  // Throws InputError naming the holder when the lock is held and `wait` is Fail.
  explicit DirectoryLock(const std::filesystem::path& dir, LockMode mode = LockMode::Exclusive,
                         const std::string& file = ".lock", LockWait wait = LockWait::Fail);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  const std::string& takeover_note() const { return note_; }

 private:
  int fd_ = -1;
  bool exclusive_ = true;
  std::string note_;
};

}  // namespace ltrnn
