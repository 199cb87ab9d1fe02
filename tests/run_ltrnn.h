// Runs the ltrnn executable of this build, for tests of the command line.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "test_paths.h"
#include "util/machine.h"

namespace ltrnn {

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr
};

// `environment`: env(1) arguments for this run (-u VAR ... then VAR=value ...), after
// ltrnn's own BLAS-restart variables (util/blas.h) are removed. (The test process pins
// OPENBLAS_CORETYPE for every process it starts: tests/same_blas_kernels.cpp.)
// Runs a shell command; its exit code and output (stdout and stderr).
inline Outcome run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline Outcome run_ltrnn(const std::string& args, const std::string& environment = "") {
  const std::string clean = "env -u LTRNN_BLAS_CORE_CHOSEN -u LTRNN_TEST_BLAS_CORE " + environment + " ";
  return run_command(clean + std::string(LTRNN_BINARY) + " " + args);
}

// An environment lookup (util/machine.h) over a fixed table, for parsing tests.
inline EnvironmentLookup environment_of(const std::map<std::string, std::string>& variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace ltrnn
