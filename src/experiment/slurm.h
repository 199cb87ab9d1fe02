// `ltrnn slurm`: plain sbatch files that fit an experiment as a SLURM job array of shards
// into one output directory, then collect it (docs/design.md section 9). No SLURM library
// is linked: the scripts are text for sbatch.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "experiment/experiment.h"

namespace ltrnn {

struct SlurmOptions {
  int64_t array = 0;                    // tasks (shards) in the array, 1..number of runs
  int64_t cpus_per_task = 2;            // also each shard's --threads
  std::string partition, time, memory;  // empty: the cluster's defaults
  std::filesystem::path out_dir;        // absolute
  std::filesystem::path experiment;     // the experiment file, absolute
  std::filesystem::path ltrnn;          // the ltrnn executable the tasks run, absolute
};

struct SlurmScripts {
  std::filesystem::path grid, collect, submit;  // OUT/slurm/{grid,collect}.sbatch, submit.sh
  std::string commands;                         // the two sbatch commands, the second after the array (afterany)
};

// Checks the options (InputError naming the option: --array out of range, a malformed
// --time or --mem, a path sbatch cannot take) and writes the files.
SlurmScripts write_slurm_scripts(const Experiment& experiment, const SlurmOptions& options);

}  // namespace ltrnn
