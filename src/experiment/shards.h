// Shards of an experiment's plan (docs/design.md section 9): which runs a shard fits, the
// SLURM array variables that name a shard, and the record each shard leaves in the output
// directory so `ltrnn collect` can say who owns a missing run.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "experiment/plan.h"
#include "util/fields.h"
#include "util/machine.h"

namespace ltrnn {

// Shard `index` of `count` (0 <= index < count).
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
  std::string text() const;  // "I/N"
};

// "--shard I/N", or "slurm": index SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
// SLURM_ARRAY_TASK_COUNT. InputError naming --shard or the variable when malformed or out of range.
Shard parse_shard(const std::string& text, const EnvironmentLookup& environment = process_environment);

// The plan entries of a shard: index i with i mod count == shard.index, in plan order.
// Round robin over the plan order, which lists an entry's ranks and seeds together, so a
// family's fits (a `full` fit costs about 40 `tensor_rank` fits) are spread over the shards.
std::vector<std::size_t> runs_of_shard(std::size_t plan_size, const Shard& shard);

// Where a shard is: fitting its runs, done with all of them, or stopped before that (an
// interrupt, a full disk, a failed distributed fit: --resume continues it).
enum class ShardState { Running, Finished, Stopped };
template <>
const std::vector<std::pair<ShardState, std::string>>& EnumNames<ShardState>::table();

// OUT/shards/<I>-of-<N>.json: the shard, its run ids, host, pid, update time, its "state"
// ("running", "finished" or "stopped") and, when stopped, the "reason"; written atomically by
// that shard only.
void write_shard_record(const std::filesystem::path& out_dir, const Shard& shard,
                        const std::vector<std::string>& run_ids, ShardState state, const std::string& reason = "");

// The shard that owns each run id, from the records in OUT/shards/ (empty when there are
// none); a run owned by shards of two different counts lists both ("1/3, 0/2").
std::map<std::string, std::string> run_owners(const std::filesystem::path& out_dir);

}  // namespace ltrnn
