// File helpers: atomic writes (temp file + rename) so a crash never leaves a half-written file.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace ltrnn {

// Writes `contents` to `path` atomically: write to a sibling temp file, flush, rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& contents);

// Calls `write_to(tmp_path)` and then renames tmp_path onto `path`; the temp file is
// removed if `write_to` throws. For writers that need a path (libzip, torch::save).
void write_via_temp(const std::filesystem::path& path,
                    const std::function<void(const std::filesystem::path&)>& write_to);

// Reads a whole file; throws InputError naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace ltrnn
