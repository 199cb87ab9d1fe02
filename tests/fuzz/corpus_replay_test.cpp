// Every input of the fuzz corpus (fuzz/corpus/<target>/) and every crash input found by a
// fuzzer (fuzz/crashes/<target>/) replayed through its target: each is accepted or refused
// with an InputError, in the normal build as in the sanitizer build.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/targets.h"
#include "test_paths.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

std::vector<fs::path> inputs_of(const std::string& target, const std::string& kind) {
  std::vector<fs::path> files;
  const fs::path folder = fs::path(LTRNN_SOURCE_DIR) / "fuzz" / kind / target;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs each input; a sanitizer report ends the process, so the file is named beforehand.
void replay(const std::string& name, std::size_t minimum_corpus) {
  const fuzz::NamedTarget* target = nullptr;
  for (const auto& t : fuzz::all_targets())
    if (name == t.name) target = &t;
  ASSERT_NE(target, nullptr) << name;
  const auto corpus = inputs_of(name, "corpus");
  EXPECT_GE(corpus.size(), minimum_corpus) << "fuzz/corpus/" << name << " lost its seeds";
  std::vector<fs::path> files = corpus;
  for (const auto& crash : inputs_of(name, "crashes")) files.push_back(crash);
  for (const fs::path& file : files) {
    std::cerr << "replaying " << file.string() << std::endl;
    const std::vector<uint8_t> bytes = bytes_of(file);
    try {
      target->run(bytes.data(), bytes.size());
    } catch (const fuzz::Finding& finding) {
      ADD_FAILURE() << file.string() << ": " << finding.what();
    }
  }
}

TEST(FuzzCorpus, NpyInputsAreAcceptedOrRefused) { replay("npy", 10); }
TEST(FuzzCorpus, NpzInputsAreAcceptedOrRefused) { replay("npz", 10); }
TEST(FuzzCorpus, ExperimentInputsAreAcceptedOrRefused) { replay("experiment", 10); }
TEST(FuzzCorpus, NwbInputsAreAcceptedOrRefused) { replay("nwb", 10); }

}  // namespace
}  // namespace ltrnn
