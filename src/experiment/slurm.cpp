// The sbatch files of `ltrnn slurm`.
#include "experiment/slurm.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "experiment/plan.h"
#include "util/errors.h"
#include "util/files.h"

namespace ltrnn {
namespace fs = std::filesystem;

namespace {

// sbatch reads "#SBATCH" lines without a shell: a path with spaces or quotes cannot be
// written there portably, so such paths are refused rather than quoted.
std::string plain_path(const fs::path& path, const std::string& what) {
  const std::string text = path.string();
  if (text.find_first_of(" \t\n\r'\"\\$`") != std::string::npos)
    throw InputError(what + ": " + text +
                     " contains a space, quote, backslash, $ or `; sbatch files need a plain path");
  return text;
}

void check_options(const SlurmOptions& o, std::size_t runs) {
  if (o.array < 1 || static_cast<std::size_t>(o.array) > runs)
    throw InputError("--array: must be 1.." + std::to_string(runs) + " (the experiment has " + std::to_string(runs) +
                     " runs; a task without runs would only wait), got " + std::to_string(o.array));
  if (o.cpus_per_task < 1) throw InputError("--cpus-per-task: must be >= 1, got " + std::to_string(o.cpus_per_task));
  // sbatch's --time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
  static const std::regex time(R"(\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2})");
  if (!o.time.empty() && !std::regex_match(o.time, time))
    throw InputError("--time: expected HH:MM:SS (or D-HH:MM:SS, MM), got \"" + o.time + "\"");
  static const std::regex memory(R"(\d+[KMGT]?)");
  if (!o.memory.empty() && !std::regex_match(o.memory, memory))
    throw InputError("--mem: expected a size such as 8G or 4000M, got \"" + o.memory + "\"");
  static const std::regex partition(R"([A-Za-z0-9_.,-]+)");
  if (!o.partition.empty() && !std::regex_match(o.partition, partition))
    throw InputError("--partition: expected partition names (letters, digits, _ . - ,), got \"" + o.partition + "\"");
}

std::string resource_lines(const SlurmOptions& o) {
  std::string lines;
  if (!o.partition.empty()) lines += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time.empty()) lines += "#SBATCH --time=" + o.time + "\n";
  if (!o.memory.empty()) lines += "#SBATCH --mem=" + o.memory + "\n";
  return lines;
}

}  // namespace

SlurmScripts write_slurm_scripts(const Experiment& e, const SlurmOptions& o) {
  // The array fits the seeds' runs; the rank ladder needs them all and one process
  // (docs/design.md section 5).
  const std::vector<PlannedRun> plan = plan_runs(e);
  const auto runs = static_cast<std::size_t>(
      std::count_if(plan.begin(), plan.end(), [](const PlannedRun& run) { return !run.laddered(); }));
  check_options(o, runs);
  const std::string out = plain_path(o.out_dir, "--out");
  const std::string experiment = plain_path(o.experiment, "the experiment file");
  const std::string ltrnn = plain_path(o.ltrnn, "the ltrnn executable");
  const fs::path dir = o.out_dir / "slurm";
  const std::string cpus = std::to_string(o.cpus_per_task);

  std::ostringstream grid;
  grid << "#!/bin/bash\n"
       << "# The " << runs << " fits of " << experiment << " as " << o.array
       << " shards of a SLURM job array, into one output directory (ltrnn slurm).\n"
       << "# A task killed or timed out is continued by resubmitting this file: --resume.\n"
       << "#SBATCH --job-name=ltrnn-" << e.name << "\n"
       << "#SBATCH --array=0-" << o.array - 1 << "\n"
       << "#SBATCH --ntasks=1\n"
       << "#SBATCH --cpus-per-task=" << cpus << "\n"
       << resource_lines(o) << "#SBATCH --output=" << out << "/slurm/grid-%A_%a.out\n"
       << "exec " << ltrnn << " run " << experiment << " --out " << out << " --shard slurm --resume --threads " << cpus
       << "\n";
  std::ostringstream collect;
  collect << "#!/bin/bash\n"
          << "# results.json, results.csv and report.html of " << out
          << " once the array has ended (submitted with --dependency=afterany on it).\n"
          << "#SBATCH --job-name=ltrnn-" << e.name << "-collect\n"
          << "#SBATCH --ntasks=1\n"
          << "#SBATCH --cpus-per-task=" << cpus << "\n"
          << resource_lines(o) << "#SBATCH --output=" << out << "/slurm/collect-%j.out\n"
          << "exec " << ltrnn << " collect " << out << " --experiment " << experiment << "\n";

  SlurmScripts scripts{dir / "grid.sbatch", dir / "collect.sbatch", dir / "submit.sh", ""};
  scripts.commands = "array=$(sbatch --parsable " + scripts.grid.string() +
                     ")\nsbatch --dependency=afterany:${array%%;*} " + scripts.collect.string() + "\n";
  try {
    fs::create_directories(dir);
  } catch (const fs::filesystem_error& error) {
    throw write_error(dir, error.code().value());
  }
  write_file_atomic(scripts.grid, grid.str());
  write_file_atomic(scripts.collect, collect.str());
  write_file_atomic(scripts.submit,
                    "#!/bin/bash\n# Submits the array, then its collect job.\nset -euo pipefail\n" + scripts.commands);
  return scripts;
}

}  // namespace ltrnn
