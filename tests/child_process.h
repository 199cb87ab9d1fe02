// `ltrnn` started as a child process of a test (output to a file), to be signalled, killed
// or run beside others, and the polling the tests wait with.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "test_paths.h"
#include "util/files.h"

namespace ltrnn {

// A child `ltrnn` process with its output in a file.
struct Child {
  pid_t pid = -1;
  std::filesystem::path output;
};

// `environment`: NAME=VALUE settings added to the child's environment.
inline Child start_ltrnn(const std::vector<std::string>& args, const std::filesystem::path& output,
                         const std::vector<std::string>& environment = {}) {
  Child child{-1, output};
  child.pid = fork();
  if (child.pid == 0) {
    for (const std::string& setting : environment) {
      const std::size_t equals = setting.find('=');
      setenv(setting.substr(0, equals).c_str(), setting.substr(equals + 1).c_str(), 1);
    }
    const int file = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(file, 1);
    dup2(file, 2);
    std::vector<char*> argv{const_cast<char*>(LTRNN_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(LTRNN_BINARY, argv.data());
    _exit(127);
  }
  return child;
}

// Waits for the child; the wait status.
inline int wait_for(const Child& child) {
  int status = 0;
  waitpid(child.pid, &status, 0);
  return status;
}

inline bool wait_until(const std::function<bool()>& condition, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The output so far ("" before the child has created its file).
inline std::string output_of(const Child& child) {
  return std::filesystem::exists(child.output) ? read_file(child.output) : "";
}

}  // namespace ltrnn
