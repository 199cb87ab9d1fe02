// Error types that map onto the CLI's exit codes (2: bad usage or input; 1: a failure
// such as a full disk; 128 + signal: interrupted), and their one-line messages.
#pragma once
#include <stdexcept>
#include <string>

namespace ltrnn {

// Bad input from the user: a malformed file, a bad option value, an invalid setting.
// The message names the file/field and what was expected. The CLI exits with code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be written (no space left on device, quota, permissions). The message
// names the file and the system's reason; the temporary file is removed. Exit code 1.
class WriteError : public std::runtime_error {
 public:
  WriteError(const std::string& what, int error_number) : std::runtime_error(what), error_number(error_number) {}
  int error_number;  // errno of the failed call
};

// The process was asked to stop (SIGINT, SIGTERM) and stopped at an iteration boundary
// after saving its checkpoints (docs/design.md section 7). Exit code 128 + signal.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(const std::string& what, int signal_number) : std::runtime_error(what), signal_number(signal_number) {}
  int signal_number;
};

// The message of an error as one line. LibTorch's errors append a backtrace (from
// "Exception raised from" or "frame #0"); results.json and the terminal get the message
// only (c10::Error::what_without_backtrace, without linking LibTorch here), with any
// remaining line breaks joined by "; ".
std::string one_line_message(const std::exception& error);

// Throws InputError("<pointer>: <what>") unless ok: the check of one field's value.
inline void require(bool ok, const std::string& pointer, const std::string& what) {
  if (!ok) throw InputError(pointer + ": " + what);
}

}  // namespace ltrnn
