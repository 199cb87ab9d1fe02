// Benchmark cases in processes of their own (bench/bench.h): one at a time, so that each
// peak resident memory is its case's own, or several at once, the machine shared.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench.h"

namespace ltrnn {
using nlohmann::json;

namespace {

// A case started in its own process (`executable bench --case JSON`), its result on a pipe.
struct BenchChild {
  std::string name;
  pid_t pid = 0;
  int output = -1;  // the read end of the child's stdout
};

BenchChild start_bench_child(const BenchCase& c, const std::string& executable) {
  const std::string case_json = json(c).dump();
  std::vector<std::string> args{executable, "bench", "--case", case_json};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("bench: cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  BenchChild child{c.name, 0, pipe_fds[0]};
  const int spawned = posix_spawn(&child.pid, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    throw std::runtime_error("bench: cannot start " + executable);
  }
  return child;
}

BenchResult finish_bench_child(const BenchChild& child) {
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(child.output, buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(n));
  close(child.output);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("bench: case '" + child.name + "' failed in its child process");
  return json::parse(output).get<BenchResult>();
}

}  // namespace

BenchResult run_bench_case_in_child(const BenchCase& c, const std::string& executable) {
  return finish_bench_child(start_bench_child(c, executable));
}

std::vector<BenchResult> run_bench_case_together(const BenchCase& c, int64_t copies, const std::string& executable) {
  std::vector<BenchChild> children;
  for (int64_t i = 0; i < copies; ++i) children.push_back(start_bench_child(c, executable));
  // Each child writes its result only at its end (a few hundred bytes, within a pipe's
  // buffer), so reading them one after the other lets them all run at once.
  std::vector<BenchResult> results;
  for (const BenchChild& child : children) results.push_back(finish_bench_child(child));
  return results;
}

std::string format_sharing(const BenchResult& alone, const std::vector<BenchResult>& together) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%s shared by %zu processes at once: alone %.1f ms;", alone.config.name.c_str(),
                together.size(), alone.median_ms);
  out << line;
  double worst = 0;
  for (const BenchResult& r : together) {
    const double slowdown = r.median_ms / alone.median_ms;
    worst = std::max(worst, slowdown);
    std::snprintf(line, sizeof line, " %.1f ms (x%.2f)", r.median_ms, slowdown);
    out << line;
  }
  std::snprintf(line, sizeof line, "; slowdown at most x%.2f (x%zu would be a fair share of the cores)\n", worst,
                together.size());
  out << line;
  return out.str();
}

}  // namespace ltrnn
