// `ltrnn slurm`: sbatch files that fit an experiment as a SLURM job array.
#include "experiment/slurm.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "experiment/experiment.h"

namespace ltrnn {
namespace fs = std::filesystem;

int slurm_command(int argc, const char* const* argv) {
  cxxopts::Options options(
      "ltrnn slurm",
      "Writes OUT/slurm/grid.sbatch (a job array: each task `ltrnn run EXP --out OUT --shard slurm --resume`), "
      "OUT/slurm/collect.sbatch (`ltrnn collect OUT`, to run after the array) and OUT/slurm/submit.sh, and prints the "
      "two sbatch commands. OUT must be on a filesystem every node sees, with flock (NFS, Lustre, BeeGFS, GPFS).");
  options.add_options()("experiment", "experiment .json", cxxopts::value<std::string>())(
      "array", "tasks in the array (shards), 1..number of runs", cxxopts::value<int64_t>())(
      "out", "output directory (default: runs/<experiment name>)", cxxopts::value<std::string>())(
      "partition", "#SBATCH --partition (default: the cluster's)", cxxopts::value<std::string>())(
      "time", "#SBATCH --time per task, HH:MM:SS (default: the partition's)", cxxopts::value<std::string>())(
      "cpus-per-task", "#SBATCH --cpus-per-task, also each task's --threads",
      cxxopts::value<int64_t>()->default_value("2"))("mem", "#SBATCH --mem per task, e.g. 8G (default: the cluster's)",
                                                     cxxopts::value<std::string>());
  options.parse_positional({"experiment"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path experiment_path = fs::absolute(required_string(r, "experiment"));
  if (!r.count("array")) throw InputError("--array: required (the number of tasks, e.g. --array 4)");
  const Experiment experiment = load_experiment(experiment_path);
  SlurmOptions slurm;
  slurm.array = r["array"].as<int64_t>();
  slurm.cpus_per_task = r["cpus-per-task"].as<int64_t>();
  if (r.count("partition")) slurm.partition = r["partition"].as<std::string>();
  if (r.count("time")) slurm.time = r["time"].as<std::string>();
  if (r.count("mem")) slurm.memory = r["mem"].as<std::string>();
  slurm.out_dir =
      fs::absolute(r.count("out") ? fs::path(r["out"].as<std::string>()) : fs::path("runs") / experiment.name)
          .lexically_normal();
  slurm.experiment = experiment_path.lexically_normal();
  slurm.ltrnn = fs::read_symlink("/proc/self/exe");
  const SlurmScripts scripts = write_slurm_scripts(experiment, slurm);
  std::cout << "wrote " << scripts.grid.string() << ", " << scripts.collect.string() << " and "
            << scripts.submit.string() << "\nsubmit with (or: bash " << scripts.submit.string() << ")\n\n"
            << scripts.commands;
  return kExitOk;
}

}  // namespace ltrnn
