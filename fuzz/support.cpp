// Shared parts of the fuzz targets: the refusal/finding rule, scratch files, the target list.
#include "fuzz/support.h"

#include <cxxabi.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <typeinfo>

#include "fuzz/targets.h"
#include "util/errors.h"

namespace ltrnn::fuzz {
namespace fs = std::filesystem;

namespace {

std::string demangled(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && text ? text.get() : name;
}

// The process's scratch directory: /dev/shm keeps the file traffic of millions of inputs
// off the disk.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    path_ = base / ("ltrnn_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

void expect_clean(const std::string& target, const std::function<void()>& body) {
  try {
    body();
  } catch (const InputError& error) {
    check(*error.what() != '\0', target, "an InputError without a message");
  } catch (const Finding&) {
    throw;
  } catch (const std::exception& error) {
    throw Finding(target + ": " + demangled(typeid(error).name()) +
                  " escaped (only InputError is a refusal): " + error.what());
  } catch (...) {
    throw Finding(target + ": an exception of a type not derived from std::exception escaped");
  }
}

void check(bool ok, const std::string& target, const std::string& what) {
  if (!ok) throw Finding(target + ": " + what);
}

fs::path scratch_file(const std::string& name) {
  static const ScratchDirectory directory;
  return directory.path() / name;
}

fs::path write_scratch_file(const std::string& name, const uint8_t* data, std::size_t size) {
  const fs::path path = scratch_file(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write the scratch file " + path.string());
  return path;
}

const std::vector<NamedTarget>& all_targets() {
  static const std::vector<NamedTarget> targets{
      {"npy", npy_input}, {"npz", npz_input}, {"experiment", experiment_input}, {"nwb", nwb_input}};
  return targets;
}

}  // namespace ltrnn::fuzz
