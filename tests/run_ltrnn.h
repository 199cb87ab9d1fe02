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

inline Outcome run_ltrnn(const std::string& args) {
  const std::string command = std::string(LTRNN_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace ltrnn
