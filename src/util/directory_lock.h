// An exclusive lock on an output directory, so two processes never write the same runs
// (docs/design.md section 7).
#pragma once
#include <filesystem>
#include <string>

namespace ltrnn {

// Holds `dir/.lock` with flock(2) for its lifetime; the file names the holder
// ("pid 1234 on host node7, since 2026-..."). The kernel drops the lock when its process
// dies however it dies, so a lock file left by a dead process is simply taken over (with
// a note in `takeover_note`). flock works on local filesystems and on NFS (Linux maps it
// onto NFS byte-range locks); on a filesystem without locks the directory is used
// unlocked, with a warning in `takeover_note`.
class DirectoryLock {
 public:
  // Throws InputError naming the holder when another process holds the lock.
  explicit DirectoryLock(const std::filesystem::path& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  const std::string& takeover_note() const { return note_; }

 private:
  int fd_ = -1;
  std::string note_;
};

}  // namespace ltrnn
