// One-line error messages.
#include "util/errors.h"

namespace ltrnn {

std::string one_line_message(const std::exception& error) {
  std::string text = error.what();
  // TORCH_CHECK errors: "Exception raised from ..."; allocator (enforce) errors: "frame #0: ...".
  for (const char* backtrace_start : {"\nException raised from", "\nframe #"}) {
    const auto backtrace = text.find(backtrace_start);
    if (backtrace != std::string::npos) text.resize(backtrace);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string line;
  for (char c : text) {
    if (c == '\n')
      line += "; ";
    else
      line += c;
  }
  return line;
}

}  // namespace ltrnn
