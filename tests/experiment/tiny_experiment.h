// The tiny experiment the runner's tests fit (a small teacher; tensor_rank at ranks 1-2 and
// static, one seed), and results.json without the fields that depend on timing.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/files.h"

namespace ltrnn {

struct TinyExperiment {
  int64_t iterations = 20;
  int64_t checkpoint_every = 5;
  nlohmann::json teacher = {
      {"hidden", 8}, {"neurons", 6}, {"trials_per_epoch", 5}, {"bins", 10}, {"preparatory_bins", 3}};
  nlohmann::json seeds = {0};
  int64_t lr_patience = 0;  // 0: a constant rate and no convergence rule, so every fit runs to `iterations`
  bool report = true;
  nlohmann::json more_train = nlohmann::json::object();  // further "train" keys (e.g. tau_pilot_iterations)
  nlohmann::json runs = nlohmann::json::parse(
      R"([{"model": "tensor_rank", "ranks": "1-2", "hidden": 6}, {"model": "static", "hidden": 6}])");
};

// Writes `dir`/tiny.json and returns its path.
inline std::filesystem::path write_tiny_experiment(const std::filesystem::path& dir, const TinyExperiment& tiny) {
  nlohmann::json doc = {{"name", "tiny"},
                        {"dataset", {{"generator", "teacher"}, {"parameters", tiny.teacher}}},
                        {"seeds", tiny.seeds},
                        {"train",
                         {{"iterations", tiny.iterations},
                          {"checkpoint_every", tiny.checkpoint_every},
                          {"lr_patience", tiny.lr_patience},
                          {"plateau_window", 0}}},
                        {"outputs", {{"report", tiny.report}}},
                        {"runs", tiny.runs}};
  doc["train"].update(tiny.more_train);
  const std::filesystem::path path = dir / "tiny.json";
  write_file_atomic(path, doc.dump(2));
  return path;
}

// results.json without what differs between two runs of the same experiment: seconds.
inline nlohmann::json results_without_timing(const std::filesystem::path& out) {
  nlohmann::json results = nlohmann::json::parse(read_file(out / "results.json"));
  for (auto& run : results["runs"]) run.erase("seconds");
  results["best"].erase("seconds");
  results.erase("wall_seconds");
  results["experiment"].erase("source");
  return results;
}

}  // namespace ltrnn
