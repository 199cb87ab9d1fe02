// The ltrnn command line (DESIGN section 3). Exit codes: 0 ok, 2 bad usage or input, 1 internal error.
#pragma once

namespace ltrnn {

int run_cli(int argc, const char* const* argv);

}  // namespace ltrnn
