// The sources follow .clang-format: `clang-format --dry-run -Werror` over src/, tests/, fuzz/
// (scripts/setup installs clang-format; without it the test is skipped, saying so).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_paths.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

std::string run(const std::string& command, int& status) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  status = pclose(pipe);
  return output;
}

TEST(Format, SourcesFollowClangFormat) {
  int status = 0;
  std::string binary;
  for (const char* candidate : {"clang-format", "clang-format-14"})
    if (run(std::string("command -v ") + candidate, status), status == 0) {
      binary = candidate;
      break;
    }
  if (binary.empty()) GTEST_SKIP() << "clang-format is not installed (scripts/setup --with-test-tools installs it)";
  std::string files;
  int count = 0;
  for (const char* folder : {"src", "tests", "fuzz"})
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(LTRNN_SOURCE_DIR) / folder)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".h" || ext == ".cpp" || ext == ".inc" || ext == ".cu")) {
        files += " '" + entry.path().string() + "'";
        ++count;
      }
    }
  ASSERT_GT(count, 50);
  const std::string output = run(
      "cd '" + std::string(LTRNN_SOURCE_DIR) + "' && " + binary + " --style=file --dry-run -Werror" + files, status);
  EXPECT_EQ(status, 0) << "run scripts/format to apply .clang-format:\n" << output.substr(0, 4000);
}

}  // namespace
}  // namespace ltrnn
