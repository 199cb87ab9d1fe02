// Error types that map onto the CLI's exit codes (2: bad usage or input; 1: internal).
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

}  // namespace ltrnn

namespace ltrnn {

// Throws InputError("<pointer>: <what>") unless ok: the check of one field's value.
inline void require(bool ok, const std::string& pointer, const std::string& what) {
  if (!ok) throw InputError(pointer + ": " + what);
}

}  // namespace ltrnn
