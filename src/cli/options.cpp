// Option parsing shared by the commands.
#include "cli/options.h"

#include <iostream>

namespace ltrnn {

bool parse_options(cxxopts::Options& options, int argc, const char* const* argv, cxxopts::ParseResult& result) {
  options.add_options()("h,help", "show this help");
  result = options.parse(argc, argv);
  if (!result.unmatched().empty()) throw InputError("unexpected argument '" + result.unmatched().front() + "'");
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    return false;
  }
  return true;
}

std::string required_string(const cxxopts::ParseResult& r, const std::string& name) {
  if (!r.count(name)) throw InputError("--" + name + " is required");
  return r[name].as<std::string>();
}

}  // namespace ltrnn
