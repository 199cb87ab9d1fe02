// Atomic file writes and whole-file reads.
#include "util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <system_error>
#include <vector>

#include "util/errors.h"

namespace ltrnn {
namespace fs = std::filesystem;

WriteError write_error(const fs::path& path, int error_number) {
  return WriteError(path.string() + ": cannot write: " + std::strerror(error_number), error_number);
}

namespace {
fs::path temp_sibling(const fs::path& path) {
  thread_local std::mt19937_64 rng{std::random_device{}()};  // runs may write from several threads
  std::ostringstream name;
  name << "." << path.filename().string() << ".tmp" << std::hex << rng();
  return path.parent_path() / name.str();
}
// fsync a file or directory, so that a rename after it is durable across a power loss.
void sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// write(2) until every byte is written; fsync before close, as a full disk or a quota may
// only show there (NFS reports delayed write errors at close).
void write_all(const fs::path& tmp, const fs::path& target, const std::string& contents) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw write_error(target, errno);
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error_number = errno;
      ::close(fd);
      throw write_error(target, error_number);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {  // EINVAL: a file (e.g. a pipe) that cannot be synced
    const int error_number = errno;
    ::close(fd);
    throw write_error(target, error_number);
  }
  if (::close(fd) != 0) throw write_error(target, errno);
}

void create_parent_directories(const fs::path& path) {
  if (!path.has_parent_path()) return;
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) throw write_error(path.parent_path(), error.value());
}

}  // namespace

void write_via_temp(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  create_parent_directories(path);
  const fs::path tmp = temp_sibling(path);
  try {
    write_to(tmp);
    sync_to_disk(tmp);  // the data reaches the disk before the rename does
    std::error_code error;
    fs::rename(tmp, path, error);
    if (error) throw write_error(path, error.value());
    sync_to_disk(path.has_parent_path() ? path.parent_path() : fs::path("."));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_file_atomic(const fs::path& path, const std::string& contents) {
  write_via_temp(path, [&](const fs::path& tmp) { write_all(tmp, path, contents); });
}

int remove_temporary_files(const fs::path& dir) {
  static const std::regex temporary(R"(\..+\.tmp[0-9a-f]+)");
  std::vector<fs::path> found;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error))
    if (it->is_regular_file() && std::regex_match(it->path().filename().string(), temporary)) found.push_back(*it);
  for (const fs::path& path : found) fs::remove(path, error);
  return static_cast<int>(found.size());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::optional<std::string> unreadable_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found || error == std::errc::no_such_file_or_directory)
    return std::string("file not found");
  if (error == std::errc::filename_too_long)
    return "path too long (" + std::to_string(path.native().size()) + " characters)";
  if (error == std::errc::not_a_directory) return std::string("file not found (a part of the path is not a directory)");
  if (error) return error.message();
  if (fs::is_directory(status)) return std::string("a directory, expected a file");
  if (!fs::is_regular_file(status)) return std::string("not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("cannot be opened (") + std::strerror(errno) + ")";
  return std::nullopt;
}

std::string shortened_path(const std::filesystem::path& path, std::size_t most) {
  const std::string text = path.string();
  if (text.size() <= most || most < 10) return text;
  const std::size_t head = (most - 3) / 2, tail = most - 3 - head;
  return text.substr(0, head) + "..." + text.substr(text.size() - tail);
}

}  // namespace ltrnn
