// `ltrnn run`: an experiment's every planned fit, the comparison table and the report.
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "experiment/experiment.h"
#include "experiment/plan.h"
#include "experiment/runner.h"
#include "train/device.h"
#include "util/interrupt.h"

namespace ltrnn {
namespace fs = std::filesystem;

int run_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn run",
                           "Runs an experiment: every planned fit, the results table and the selected rank.");
  options.add_options()("experiment", "experiment .json", cxxopts::value<std::string>())(
      "out", "output directory (default: runs/<experiment name>)", cxxopts::value<std::string>())(
      "threads", "intra-op threads (0: LibTorch default)", cxxopts::value<int64_t>()->default_value("0"))(
      "jobs", "runs fitted at the same time, each single-threaded unless --threads is given",
      cxxopts::value<int64_t>()->default_value("1"))(
      "resume", "skip finished runs and continue unfinished ones from their checkpoints")(
      "device", "where every run computes, instead of the experiment's train.device: " + enum_choices<DeviceKind>(),
      cxxopts::value<std::string>())("force", "run even runs whose estimated peak memory exceeds this machine's")(
      "shard",
      "fit only shard I of N (I/N: the plan entries i with i mod N = I), beside the other shards in the same --out; "
      "\"slurm\": the task of a SLURM job array. No results.json: `ltrnn collect OUT` assembles it",
      cxxopts::value<std::string>())(
      "distributed",
      "one of several processes of this experiment (RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or srun's variables): the "
      "runs marked \"distributed\" are fitted by all of them together, their trials split; rank 0 fits the rest and "
      "writes --out")("distributed-timeout", "seconds to wait for the other processes",
                      cxxopts::value<int64_t>()->default_value("120"))("quiet", "no progress lines");
  options.parse_positional({"experiment"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const Experiment experiment = load_experiment(required_string(r, "experiment"));
  RunnerOptions runner;
  runner.out_dir = r.count("out") ? fs::path(r["out"].as<std::string>()) : fs::path("runs") / experiment.name;
  runner.threads = r["threads"].as<int64_t>();
  if (runner.threads < 0) throw InputError("--threads: must be >= 0");
  runner.jobs = r["jobs"].as<int64_t>();
  if (runner.jobs < 1) throw InputError("--jobs: must be >= 1");
  runner.resume = r.count("resume") > 0;
  runner.progress = r.count("quiet") == 0;
  runner.force = r.count("force") > 0;
  if (r.count("device")) runner.device = parse_enum<DeviceKind>(r["device"].as<std::string>(), "--device");
  if (r.count("shard")) runner.shard = parse_shard(r["shard"].as<std::string>());
  if (r.count("distributed")) {
    runner.distributed = distributed_setup();
    const int64_t timeout = r["distributed-timeout"].as<int64_t>();
    if (timeout < 1) throw InputError("--distributed-timeout: must be >= 1 second");
    runner.distributed->timeout = std::chrono::seconds(timeout);
  }
  // Every run's device is usable, before anything is written.
  for (const PlannedRun& run : plan_runs(experiment))
    resolve_device(runner.device.value_or(run.train.device), run.train.tf32,
                   runner.device ? "--device" : experiment.source.string() + "#/train/device");
  // Ctrl-C / SIGTERM: the runs in progress save a checkpoint at their next iteration, then exit 130 / 143.
  install_interrupt_handlers();
  const std::vector<RunRecord> results = run_experiment(experiment, runner, std::cout);
  if (runner.distributed && runner.distributed->rank != 0) return kExitOk;  // rank 0 reports the experiment
  const bool any_finished =
      std::any_of(results.begin(), results.end(), [](const RunRecord& s) { return s.finished(); });
  return any_finished ? kExitOk : kExitIncomplete;
}

}  // namespace ltrnn
