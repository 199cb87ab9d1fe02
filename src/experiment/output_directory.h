// An experiment's output directory as one process of `ltrnn run` sees it (docs/design.md
// section 7): whether it may write there, its locks, and which runs are already done.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "experiment/experiment.h"
#include "experiment/runner_options.h"
#include "run/record.h"
#include "util/directory_lock.h"

namespace ltrnn {

// Refuses (InputError) to write into `out_dir` when it holds results and !resume, or
// results of an experiment other than `resolved` (resolved_json).
void check_output_directory(const Experiment& experiment, const nlohmann::json& resolved,
                            const std::filesystem::path& out_dir, bool resume);

// The locks this process holds on the output directory: the directory's own (exclusive
// alone, shared by the shards) and a shard's own.
struct DirectoryLocks {
  std::optional<DirectoryLock> directory, shard;
};

// Creates the output directory and takes its locks (into `locks`: a lock cannot move); alone, also removes the
// temporary files of writes a killed process did not finish (a shard owns only its runs' directories, where the others'
// temporary files may be writes in progress). A directory this call created is removed again when its lock cannot be
// taken.
void open_output_directory(const RunnerOptions& options, DirectoryLocks& locks, std::ostream& out);

// The record of a run that needs no fitting on --resume: finished or diverged. A run that
// failed for another reason (an error, a full disk) is tried again from its checkpoint, and
// an unreadable summary.json means fitting it again.
std::optional<RunRecord> final_record(const std::filesystem::path& run_dir, bool resume);

// The command that continues this process's part of the experiment.
std::string resume_command(const Experiment& experiment, const RunnerOptions& options);

}  // namespace ltrnn
