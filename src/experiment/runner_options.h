// How `ltrnn run` is asked to fit an experiment: where, with how many threads and jobs, and
// which part this process takes (the whole plan, one shard, or one rank of a distributed fit).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>

#include "experiment/shards.h"
#include "train/config.h"
#include "train/distributed.h"

namespace ltrnn {

struct RunnerOptions {
  std::filesystem::path out_dir;  // default: runs/<experiment name>
  int64_t threads = 0;            // intra-op threads per run (0: LibTorch's default; 1 when jobs > 1)
  int64_t jobs = 1;               // runs fitted at the same time (each deterministic on its own)
  bool resume = false;            // skip finished runs, continue unfinished ones from checkpoints
  bool progress = true;
  bool force = false;  // run even what the memory estimate says this machine cannot hold
  // Every run's device instead of the experiment's train.device (ltrnn run --device).
  std::optional<DeviceKind> device;
  // Fit only this shard's runs (experiment/shards.h), beside the other shards in the same
  // directory; no results.json (`collect_experiment` assembles it).
  std::optional<Shard> shard;
  // One of the processes of `ltrnn run --distributed` (train/distributed.h): the runs marked
  // "distributed" are fitted by all of them together, first; rank 0 fits the others alone
  // and writes everything, the other ranks write nothing and return the bare records.
  std::optional<DistributedSetup> distributed;

  // Several jobs: each run single-threaded unless told otherwise, so the jobs do not
  // compete for cores; a run's numbers depend only on its own thread count.
  int64_t threads_per_run() const { return jobs > 1 && threads == 0 ? 1 : threads; }
};

}  // namespace ltrnn
