// `ltrnn export`: a run's fitted model as TorchScript, rebuilt from its checkpoint.
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "export/torchscript.h"
#include "train/checkpoint.h"

namespace ltrnn {
namespace fs = std::filesystem;

int export_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn export", "Writes a run's fitted model as TorchScript, rebuilt from its checkpoint.");
  options.add_options()("run_dir", "a run directory (runs/<id>/ of an output directory)",
                        cxxopts::value<std::string>())("out", "output file (default: RUN_DIR/model.pt)",
                                                       cxxopts::value<std::string>());
  options.parse_positional({"run_dir"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path run_dir = required_string(r, "run_dir");
  if (!fs::is_directory(run_dir)) throw InputError(run_dir.string() + ": not a run directory");
  const RnnModel model = model_from_checkpoint(run_dir / "checkpoint.pt");
  const fs::path out = r.count("out") ? fs::path(r["out"].as<std::string>()) : run_dir / "model.pt";
  save_torchscript(out, model);
  std::cout << "wrote " << out.string() << " (" << to_string(model->config().kind) << ", "
            << model->structure().n_trials() << " trials)\n";
  return kExitOk;
}

}  // namespace ltrnn
