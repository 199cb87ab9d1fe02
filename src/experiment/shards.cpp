// Shards: parsing, assignment and their records in the output directory.
#include "experiment/shards.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "util/errors.h"
#include "util/files.h"
#include "util/machine.h"

namespace ltrnn {
namespace fs = std::filesystem;
using nlohmann::json;

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

namespace {

// A whole non-negative decimal number, or nothing.
std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

int64_t slurm_variable(const EnvironmentLookup& environment, const std::string& name) {
  const std::optional<std::string> value = environment(name);
  if (!value)
    throw InputError("--shard slurm: " + name +
                     " is not set (run it as a task of a SLURM job array: sbatch --array, see `ltrnn slurm`)");
  const std::optional<int64_t> number = parse_count(*value);
  if (!number) throw InputError("--shard slurm: " + name + " must be a whole number >= 0, got \"" + *value + "\"");
  return *number;
}

}  // namespace

Shard parse_shard(const std::string& text, const EnvironmentLookup& environment) {
  Shard shard;
  if (text == "slurm") {
    const int64_t id = slurm_variable(environment, "SLURM_ARRAY_TASK_ID");
    const int64_t min = slurm_variable(environment, "SLURM_ARRAY_TASK_MIN");
    shard.count = slurm_variable(environment, "SLURM_ARRAY_TASK_COUNT");
    shard.index = id - min;
    // An array with gaps or a step (--array=0,4 or 0-9:2) would leave runs to no task.
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
      throw InputError("--shard slurm: SLURM_ARRAY_TASK_ID " + std::to_string(id) + " - SLURM_ARRAY_TASK_MIN " +
                       std::to_string(min) + " is not in 0.." + std::to_string(shard.count - 1) +
                       " (SLURM_ARRAY_TASK_COUNT); submit the array as --array=0-<N-1> without gaps or steps");
    return shard;
  }
  const std::size_t slash = text.find('/');
  const std::optional<int64_t> index = slash == std::string::npos ? std::nullopt : parse_count(text.substr(0, slash));
  const std::optional<int64_t> count = slash == std::string::npos ? std::nullopt : parse_count(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *index >= *count)
    throw InputError("--shard: expected I/N with 0 <= I < N (e.g. 0/3) or \"slurm\", got \"" + text + "\"");
  shard.index = *index;
  shard.count = *count;
  return shard;
}

std::vector<std::size_t> runs_of_shard(std::size_t plan_size, const Shard& shard) {
  std::vector<std::size_t> runs;
  for (std::size_t i = static_cast<std::size_t>(shard.index); i < plan_size; i += static_cast<std::size_t>(shard.count))
    runs.push_back(i);
  return runs;
}

namespace {

fs::path shard_record_path(const fs::path& out_dir, const Shard& shard) {
  return out_dir / "shards" / (std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".json");
}

std::string utc_now() {
  char text[32] = {};
  const std::time_t now = std::time(nullptr);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

}  // namespace

template <>
const std::vector<std::pair<ShardState, std::string>>& EnumNames<ShardState>::table() {
  static const std::vector<std::pair<ShardState, std::string>> t{
      {ShardState::Running, "running"}, {ShardState::Finished, "finished"}, {ShardState::Stopped, "stopped"}};
  return t;
}

void write_shard_record(const fs::path& out_dir, const Shard& shard, const std::vector<std::string>& run_ids,
                        ShardState state, const std::string& reason) {
  const fs::path path = shard_record_path(out_dir, shard);
  try {
    fs::create_directories(path.parent_path());
  } catch (const fs::filesystem_error& error) {
    throw write_error(path.parent_path(), error.code().value());
  }
  json record{{"shard", shard.index}, {"count", shard.count}, {"runs", run_ids},     {"state", enum_name(state)},
              {"host", host_name()},  {"pid", ::getpid()},    {"updated", utc_now()}};
  if (!reason.empty()) record["reason"] = reason;
  write_file_atomic(path, record.dump(2) + "\n");
}

std::map<std::string, std::string> run_owners(const fs::path& out_dir) {
  std::map<std::string, std::string> owners;
  std::vector<fs::path> records;  // in name order, so owners are listed the same way every time
  std::error_code error;
  for (auto it = fs::directory_iterator(out_dir / "shards", error); !error && it != fs::directory_iterator();
       it.increment(error))
    if (it->path().extension() == ".json") records.push_back(it->path());
  std::sort(records.begin(), records.end());
  for (const fs::path& path : records) {
    try {
      const json record = json::parse(read_file(path));
      const Shard shard{record.at("shard").get<int64_t>(), record.at("count").get<int64_t>()};
      for (const auto& id : record.at("runs")) {
        std::string& owner = owners[id.get<std::string>()];
        owner += (owner.empty() ? "" : ", ") + shard.text();
      }
    } catch (const std::exception&) {
      // a record being replaced or damaged: its runs show as owned by no known shard
    }
  }
  return owners;
}

}  // namespace ltrnn
