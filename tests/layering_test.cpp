// The layers of src/ (docs/design.md section 6) as the code has them: every #include of a
// project header points to the file's own layer or one below, never up, and never across
// to a sibling folder of the same layer. The layer table is read from docs/design.md, so
// the document and the code cannot drift apart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "test_paths.h"

namespace ltrnn {
namespace {
namespace fs = std::filesystem;

// folder -> layer number, from the rows "| N | folder/, folder/ | ... |" of section 6.
std::map<std::string, int> layers_from_design() {
  std::ifstream in(fs::path(LTRNN_SOURCE_DIR) / "docs/design.md");
  std::map<std::string, int> layers;
  const std::regex row(R"(^\|\s*(\d+)\s*\|([^|]*)\|)"), folder(R"(([a-z_]+)/)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    const int layer = std::stoi(m[1]);
    const std::string folders = m[2];
    for (auto it = std::sregex_iterator(folders.begin(), folders.end(), folder); it != std::sregex_iterator(); ++it)
      layers[(*it)[1]] = layer;
  }
  return layers;
}

// The folder of src/ a path belongs to ("model/families/full.cpp" -> "model"); "" for src/main.cpp.
std::string folder_of(const std::string& relative) {
  const auto slash = relative.find('/');
  return slash == std::string::npos ? "" : relative.substr(0, slash);
}

TEST(Layering, DesignDocumentListsTheLayers) {
  const auto layers = layers_from_design();
  for (const char* folder : {"util", "io", "data", "model", "train", "sim", "analysis", "export", "bench", "run",
                             "spec", "report", "experiment", "recovery", "cli"})
    EXPECT_TRUE(layers.count(folder)) << folder << "/ is not in the layer table of docs/design.md section 6";
  EXPECT_LT(layers.at("util"), layers.at("model"));
  EXPECT_LT(layers.at("run"), layers.at("cli"));
}

TEST(Layering, IncludesPointDown) {
  const auto layers = layers_from_design();
  ASSERT_FALSE(layers.empty());
  const fs::path src = fs::path(LTRNN_SOURCE_DIR) / "src";
  const std::regex include(R"(^\s*#\s*include\s+"([^"]+)\")");
  int files = 0, edges = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".inc" && ext != ".in")) continue;
    const std::string relative = fs::relative(entry.path(), src).generic_string();
    const std::string from = folder_of(relative);
    if (from.empty()) continue;  // src/main.cpp sits above every layer
    ASSERT_TRUE(layers.count(from)) << "src/" << from << "/ is not in the layer table of docs/design.md section 6";
    ++files;
    std::ifstream in(entry.path());
    int line_number = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const std::string to = folder_of(m[1]);
      if (to.empty() || !layers.count(to)) continue;  // generated or test headers
      ++edges;
      const std::string where = "src/" + relative + ":" + std::to_string(line_number) + " includes " + m[1].str();
      EXPECT_LE(layers.at(to), layers.at(from)) << where << ": " << to << "/ is a higher layer than " << from << "/";
      if (layers.at(to) == layers.at(from))
        EXPECT_EQ(to, from) << where << ": sibling folders of one layer do not include each other";
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_GT(edges, 100);
}

}  // namespace
}  // namespace ltrnn
