// Runs the ltrnn executable of this build, for tests of the command line.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "test_paths.h"

namespace ltrnn {

struct Outcome {
  int exit_code;
  std::string output;  // stdout and stderr
};

// `environment`: assignments (VAR=value ...) for this run, after the BLAS kernel choice's
// variables (util/blas.h) are removed from the inherited environment.
inline Outcome run_ltrnn(const std::string& args, const std::string& environment = "") {
  const std::string clean = "env -u OPENBLAS_CORETYPE -u LTRNN_BLAS_CORE_CHOSEN -u LTRNN_TEST_BLAS_CORE ";
  const std::string command = clean + environment + " " + std::string(LTRNN_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace ltrnn
