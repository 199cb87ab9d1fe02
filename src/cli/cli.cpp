// The table of commands, dispatch, and the one place errors become exit codes.
#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/blas.h"
#include "util/errors.h"

namespace ltrnn {

namespace {

struct Command {
  std::string name;   // one word, or "group word" (simulate teacher)
  std::string usage;  // the line in `ltrnn --help`
  int (*run)(int argc, const char* const* argv);
  // Runs long matrix products: warned about a slow BLAS.
  bool uses_blas;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"simulate teacher", "simulate teacher [options] --out FILE.npz   data from a known low-tensor-rank RNN",
       simulate_teacher_command, false},
      {"simulate reach", "simulate reach [options] --out FILE.npz     an RNN learning to reach in a curl field",
       simulate_reach_command, true},
      {"fit", "fit --data FILE.npz --model tensor_rank --rank R [options] --out DIR", fit_command, true},
      {"refit", "refit RUN_DIR --data NEW.npz --out DIR    new trials, the fitted latent network frozen", refit_command,
       true},
      {"import nwb", "import nwb FILE.nwb --align EVENT [options] --out FILE.npz   bin an NWB recording's spikes",
       import_nwb_command, false},
      {"validate", "validate EXPERIMENT.json                    check an experiment file and print its plan",
       validate_command, false},
      {"run", "run EXPERIMENT.json [--out DIR] [--threads N] [--jobs J] [--resume] [--shard I/N]", run_command, true},
      {"collect", "collect OUT_DIR                             results and report of runs fitted by shards",
       collect_command, false},
      {"slurm", "slurm EXPERIMENT.json --array N [options]   sbatch files: the fits as a SLURM job array",
       slurm_command, false},
      {"export", "export RUN_DIR [--out model.pt]             TorchScript from a run's checkpoint", export_command,
       false},
      {"report", "report OUT_DIR [--out report.html]          the experiment's charts, one offline page",
       report_command, false},
      {"analyze cp", "analyze cp --tensor FILE --ranks 1-8        CP decomposition: error vs rank, factors",
       analyze_cp_command, true},
      {"analyze ranks",
       "analyze ranks --weights FILE.npz            matrix rank of W(k), dW(k); angles to span(B, C^T)",
       analyze_ranks_command, false},
      {"bench recovery",
       "bench recovery [--quick] [--out DIR]          the rank-recovery panel: planted vs selected rank",
       bench_recovery_command, true},
      {"bench", "bench [--config B1] [--scaling]             ms per training iteration, GFLOP/s, memory", bench_command,
       true},
  };
  return table;
}

std::string usage() {
  std::string text = "ltrnn - low-tensor-rank RNNs fitted to neural recordings made over learning\n\nusage:\n";
  for (const Command& c : commands()) text += "  ltrnn " + c.usage + "\n";
  return text + "\nRun 'ltrnn COMMAND --help' for a command's options.\n";
}

// A word that only leads to commands ("simulate teacher"): what it prints on its own.
struct CommandGroup {
  std::string word;
  std::string usage;                                // `ltrnn WORD --help` (and, with exit code 2, `ltrnn WORD`)
  bool usage_when_bare;                             // `ltrnn WORD` alone prints the usage rather than an error
  std::string (*unknown)(const std::string& next);  // the error for `ltrnn WORD NEXT`
};

const std::vector<CommandGroup>& command_groups() {
  static const std::vector<CommandGroup> groups{
      {"simulate", "usage: ltrnn simulate teacher|reach [options] --out FILE.npz\n", true,
       [](const std::string& next) {
         return "simulate: unknown generator '" + next + "'; expected 'teacher' or 'reach'";
       }},
      {"import",
       "usage: ltrnn import nwb FILE.nwb --align EVENT --window=START,STOP --bin W [options] --out FILE.npz\n", false,
       [](const std::string&) { return std::string("import: expected 'nwb' (ltrnn import nwb FILE.nwb --help)"); }},
      {"analyze",
       "usage: ltrnn analyze cp --tensor FILE --ranks 1-8 [options]\n       ltrnn analyze ranks --weights FILE.npz "
       "[options]\n",
       false,
       [](const std::string&) {
         return std::string("analyze: expected 'cp' or 'ranks' (ltrnn analyze cp --tensor FILE --ranks 1-8)");
       }},
  };
  return groups;
}

// LibTorch's matrix products run on the system's libblas.so.3; Debian's default reference
// BLAS is about ten times slower than OpenBLAS on this work.
void warn_without_openblas() {
  if (blas_description().rfind("OpenBLAS", 0) != 0)
    std::cerr << "ltrnn: warning: the active BLAS is not OpenBLAS; fits may run ~10x slower. "
                 "Install it with: apt-get install libopenblas0-pthread\n";
}

int dispatch(int argc, const char* const* argv) {
  if (argc < 2) {
    std::cerr << usage();
    return kExitBadInput;
  }
  const std::string word = argv[1];
  if (word == "-h" || word == "--help" || word == "help") {
    std::cout << usage();
    return kExitOk;
  }
  for (const Command& c : commands()) {
    const bool two_words = argc >= 3 && c.name == word + " " + argv[2];
    if (c.name != word && !two_words) continue;
    // Every command, so that a report or an export computes with the same kernels as the
    // run whose results it reads; the OpenMP waiting for those that compute.
    restart_with_runtime_settings(argv, c.uses_blas, std::cerr);
    if (c.uses_blas) warn_without_openblas();
    const int skip = two_words ? 2 : 1;
    return c.run(argc - skip, argv + skip);
  }
  for (const CommandGroup& group : command_groups()) {
    if (group.word != word) continue;
    const std::string next = argc >= 3 ? argv[2] : "";
    if (next == "--help" || next == "-h") {
      std::cout << group.usage;
      return kExitOk;
    }
    if (next.empty() && group.usage_when_bare) {
      std::cout << group.usage;
      return kExitBadInput;
    }
    throw InputError(group.unknown(next));
  }
  std::cerr << "ltrnn: unknown command '" << word << "'\n\n" << usage();
  return kExitBadInput;
}

}  // namespace

int run_cli(int argc, const char* const* argv) {
  try {
    return dispatch(argc, argv);
  } catch (const InputError& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const Interrupted& e) {
    std::cerr << "\nltrnn: " << e.what() << "\n";
    return 128 + e.signal_number;  // the shell's convention: 130 for SIGINT, 143 for SIGTERM
  } catch (const WriteError& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kExitInternalError;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "ltrnn: error: " << e.what() << "\n";
    return kExitInternalError;
  } catch (const std::exception& e) {
    std::cerr << "ltrnn: internal error: " << one_line_message(e) << "\n";
    return kExitInternalError;
  }
}

}  // namespace ltrnn
