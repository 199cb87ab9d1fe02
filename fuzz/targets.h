// The fuzz targets' bodies, plain functions so that the test suite replays their corpus too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace ltrnn::fuzz {

// What a target reports: the input was neither accepted nor refused with an InputError
// (another exception type, an InputError without a message, or a broken invariant).
class Finding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Each runs one input and returns when it was accepted or refused cleanly; throws Finding
// otherwise. A sanitizer report ends the process on its own.
void npy_input(const uint8_t* data, std::size_t size);         // parse_npy on the bytes
void npz_input(const uint8_t* data, std::size_t size);         // read_npz on the bytes as a file
void experiment_input(const uint8_t* data, std::size_t size);  // load_experiment on the bytes as a file
void nwb_input(const uint8_t* data, std::size_t size);         // import_nwb on an NWB file the bytes describe

using Target = void (*)(const uint8_t*, std::size_t);

struct NamedTarget {
  const char* name;  // also the folder of its inputs: fuzz/corpus/<name>, fuzz/crashes/<name>
  Target run;
};
const std::vector<NamedTarget>& all_targets();

// libFuzzer's entry point body: a Finding becomes an abort(), which libFuzzer records as a
// crash and saves the input of.
inline int run_or_abort(Target target, const uint8_t* data, std::size_t size) {
  try {
    target(data, size);
  } catch (const Finding& finding) {
    std::fprintf(stderr, "finding: %s\n", finding.what());
    std::abort();
  }
  return 0;
}

}  // namespace ltrnn::fuzz
