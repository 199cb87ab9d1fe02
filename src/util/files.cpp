// Atomic file writes and whole-file reads.
#include "util/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "util/errors.h"

namespace ltrnn {
namespace fs = std::filesystem;

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

}  // namespace

void write_via_temp(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = temp_sibling(path);
  try {
    write_to(tmp);
    sync_to_disk(tmp);  // the data reaches the disk before the rename does
    fs::rename(tmp, path);
    sync_to_disk(path.has_parent_path() ? path.parent_path() : fs::path("."));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_file_atomic(const fs::path& path, const std::string& contents) {
  write_via_temp(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot open " + tmp.string() + " for writing");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) throw std::runtime_error("failed writing " + tmp.string());
  });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace ltrnn
