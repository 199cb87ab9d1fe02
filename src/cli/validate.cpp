// `ltrnn validate`: an experiment file checked without fitting anything, and its plan.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/dataset.h"
#include "experiment/experiment.h"
#include "experiment/plan.h"

namespace ltrnn {
namespace fs = std::filesystem;

int validate_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn validate",
                           "Checks an experiment file (schema, settings, data file) and prints its plan.");
  options.add_options()("experiment", "experiment .json", cxxopts::value<std::string>())(
      "force", "accept runs whose estimated peak memory exceeds this machine's");
  options.parse_positional({"experiment"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path path = required_string(r, "experiment");
  const Experiment experiment = load_experiment(path);
  std::optional<DataSizes> sizes = data_sizes_from_settings(experiment);
  if (const fs::path* file = dataset_file(experiment)) {
    const Dataset ds = load_dataset(*file, experiment.preprocess.nan);  // refuses malformed data, naming file and key
    std::cout << "data: " << file->string() << ": " << ds.n_bins() << " x " << ds.n_trials() << " x " << ds.n_neurons()
              << "\n";
    sizes = DataSizes{ds.n_bins(), ds.n_trials(), ds.n_neurons()};
  }
  const std::vector<PlannedRun> plan = plan_runs(experiment);
  if (sizes) check_memory(plan, *sizes, r.count("force") > 0);
  std::cout << path.string() << ": valid\n" << format_plan(plan, sizes);
  if (!sizes) std::cout << "(memory estimates once the recording is imported: `ltrnn run` checks them)\n";
  return kExitOk;
}

}  // namespace ltrnn
