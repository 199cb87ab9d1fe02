// The ltrnn command line: one file per command (cli/<command>.cpp), one table of commands
// (cli/cli.cpp). Exit codes: 0 ok, 2 bad usage or input (InputError), 1 internal error.
#pragma once

namespace ltrnn {

// Each command gets argv with argv[0] = its own last word (e.g. "teacher" for
// `ltrnn simulate teacher ...`) and returns the exit code.
int simulate_teacher_command(int argc, const char* const* argv);
int simulate_reach_command(int argc, const char* const* argv);
int fit_command(int argc, const char* const* argv);
int refit_command(int argc, const char* const* argv);
int validate_command(int argc, const char* const* argv);
int run_command(int argc, const char* const* argv);
int collect_command(int argc, const char* const* argv);
int slurm_command(int argc, const char* const* argv);
int export_command(int argc, const char* const* argv);
int report_command(int argc, const char* const* argv);
int analyze_cp_command(int argc, const char* const* argv);
int analyze_ranks_command(int argc, const char* const* argv);
int bench_command(int argc, const char* const* argv);
int bench_recovery_command(int argc, const char* const* argv);
int import_nwb_command(int argc, const char* const* argv);

// Dispatches argv to a command and maps errors to exit codes.
int run_cli(int argc, const char* const* argv);

// 0: done. 1: an error (a full disk, an internal error). 2: bad input (a file, a field, an
// option). 3: the command ran but its result is incomplete: no run finished, the fit
// diverged, or runs are missing from a collected directory.
constexpr int kExitOk = 0, kExitInternalError = 1, kExitBadInput = 2, kExitIncomplete = 3;

}  // namespace ltrnn
