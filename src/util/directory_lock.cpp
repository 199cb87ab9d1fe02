// The output directory's lock file.
#include "util/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "util/errors.h"
#include "util/files.h"
#include "util/machine.h"

namespace ltrnn {
namespace fs = std::filesystem;

namespace {

std::string holder_text() {
  char since[32] = {};
  const std::time_t now = std::time(nullptr);
  std::strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return "pid " + std::to_string(::getpid()) + " on host " + host_name() + ", since " + since;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[256];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

void replace_contents(int fd, const std::string& text, const fs::path& path) {
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw write_error(path, errno);
}

}  // namespace

DirectoryLock::DirectoryLock(const fs::path& dir, LockMode mode, const std::string& file, LockWait wait)
    : exclusive_(mode == LockMode::Exclusive) {
  const fs::path path = dir / file;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw write_error(path, errno);
  const int operation = (exclusive_ ? LOCK_EX : LOCK_SH) | (wait == LockWait::Fail ? LOCK_NB : 0);
  int result;
  while ((result = ::flock(fd_, operation)) != 0 && errno == EINTR) {
  }
  if (result != 0) {
    const int error_number = errno;
    if (error_number == EWOULDBLOCK) {
      const std::string holder = read_all(fd_);
      ::close(fd_);
      fd_ = -1;
      // Shards hold the lock shared and do not write themselves into it (several at once).
      throw InputError(
          dir.string() + " is in use by another ltrnn process (" +
          (holder.empty() ? "the shards of a sharded run, listed in " + (dir / "shards").string() : holder) +
          ", lock file " + path.string() + "); wait for it to finish or stop it, or use another --out");
    }
    note_ = "warning: " + path.string() + " cannot be locked on this filesystem (" + std::strerror(error_number) +
            "); make sure no other ltrnn process writes to " + dir.string();
  }
  if (!exclusive_) return;
  const std::string previous = read_all(fd_);
  if (!previous.empty() && note_.empty())
    note_ = "note: took over the lock of " + dir.string() + " left by " + previous + " (no longer running)";
  replace_contents(fd_, holder_text() + "\n", path);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ < 0) return;
  if (!exclusive_) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    return;
  }
  // Emptied before it is released: a lock file with a holder is a lock someone holds or held
  // when it died. (The file stays: removing it would race with a process opening it.)
  if (::ftruncate(fd_, 0) != 0) {
    // nothing to do: the next holder overwrites it and reports the takeover
  }
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace ltrnn
