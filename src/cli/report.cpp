// `ltrnn report`: report.html of an output directory.
#include "report/report.h"

#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "report/sweep.h"

namespace ltrnn {
namespace fs = std::filesystem;

int report_command(int argc, const char* const* argv) {
  cxxopts::Options options("ltrnn report",
                           "Writes report.html, the charts of an experiment's saved results in one self-contained page "
                           "(opens offline in any browser). Given a directory of output directories (a sweep, e.g. "
                           "scripts/paper_reach_sweep), a page comparing them, and their table on stdout.");
  options.add_options()("out_dir", "the output directory of `ltrnn run`, or a directory of them",
                        cxxopts::value<std::string>())("out", "output file (default: OUT_DIR/report.html)",
                                                       cxxopts::value<std::string>());
  options.parse_positional({"out_dir"});
  cxxopts::ParseResult r;
  if (!parse_options(options, argc, argv, r)) return kExitOk;
  const fs::path out_dir = required_string(r, "out_dir");
  if (!fs::is_directory(out_dir))
    throw InputError(out_dir.string() + ": not a directory (expected the output directory of `ltrnn run`)");
  const fs::path out = r.count("out") ? fs::path(r["out"].as<std::string>()) : fs::path();
  if (is_sweep_directory(out_dir)) std::cout << format_sweep_table(load_sweep(out_dir));
  std::cout << "wrote " << write_report(out_dir, out).string() << "\n";
  return kExitOk;
}

}  // namespace ltrnn
