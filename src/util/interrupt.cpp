// SIGINT / SIGTERM: remember the first, end the process on the second.
#include "util/interrupt.h"

#include <signal.h>

#include <atomic>
#include <string>

#include "util/errors.h"

namespace ltrnn {

namespace {

std::atomic<int> requested_signal{0};  // lock-free, so safe to set from a handler
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal_number) {
  int none = 0;
  if (requested_signal.compare_exchange_strong(none, signal_number)) return;
  // A second signal: the default action (termination), now.
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress continue
  for (int signal_number : {SIGINT, SIGTERM}) ::sigaction(signal_number, &action, nullptr);
}

int interrupt_signal() { return requested_signal.load(); }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

void throw_if_interrupted(const std::string& what) {
  const int signal_number = interrupt_signal();
  if (signal_number != 0) throw Interrupted(what + " (" + signal_name(signal_number) + ")", signal_number);
}

}  // namespace ltrnn
