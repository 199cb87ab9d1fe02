// A graceful stop on SIGINT (Ctrl-C) and SIGTERM (what SLURM and `kill` send): the first
// signal asks long work to stop at its next safe point (a fit: the next iteration
// boundary, after writing its checkpoint); a second one ends the process at once.
#pragma once
#include <string>

namespace ltrnn {

// Installs the handlers (commands that fit models call this first).
void install_interrupt_handlers();
// The signal that asked for a stop, or 0.
int interrupt_signal();
// Throws Interrupted("<what> (SIGINT)", signal) when a stop was asked for.
void throw_if_interrupted(const std::string& what);
// "SIGINT", "SIGTERM", else "a signal".
const char* signal_name(int signal_number);

}  // namespace ltrnn
