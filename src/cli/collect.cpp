// `ltrnn collect`: results.json, results.csv and the report of an output directory whose
// runs were fitted by shards.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "experiment/runner.h"

namespace ltrnn {
namespace fs = std::filesystem;

int collect_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn collect",
                           "Assembles results.json, results.csv and report.html of an output directory from its run "
                           "directories (after `ltrnn run --shard` or a SLURM array of `ltrnn slurm`), and lists the "
                           "runs still missing with the shard that owns them. Exit code 1 while runs are missing.");
  options.add_options()("out_dir", "the output directory the shards wrote", cxxopts::value<std::string>())(
      "experiment", "the experiment file (default: the \"source\" OUT_DIR/experiment.json names)",
      cxxopts::value<std::string>());
  options.parse_positional({"out_dir"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path out_dir = required_string(r, "out_dir");
  if (!fs::is_directory(out_dir))
    throw InputError(out_dir.string() + ": not a directory (expected the output directory of `ltrnn run`)");
  std::optional<fs::path> experiment;
  if (r.count("experiment")) experiment = fs::path(r["experiment"].as<std::string>());
  const CollectOutcome outcome = collect_experiment(out_dir, experiment, std::cout);
  return outcome.missing.empty() ? kExitOk : kExitIncomplete;
}

}  // namespace ltrnn
