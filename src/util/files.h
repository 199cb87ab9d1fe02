// File helpers: atomic writes (temp file + rename) so a crash never leaves a half-written file.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "util/errors.h"

namespace ltrnn {

// The error for a failed write of `path`: "<path>: cannot write: <strerror>", e.g.
// "No space left on device".
WriteError write_error(const std::filesystem::path& path, int error_number);

// Writes `contents` to `path` atomically: write to a sibling temp file, fsync, rename.
// Throws WriteError naming `path` (disk full, permissions); the temp file is removed.
void write_file_atomic(const std::filesystem::path& path, const std::string& contents);

// Calls `write_to(tmp_path)` and then renames tmp_path onto `path`; the temp file is
// removed if `write_to` throws. For writers that need a path (libzip, torch::save).
void write_via_temp(const std::filesystem::path& path,
                    const std::function<void(const std::filesystem::path&)>& write_to);

// Removes the temporary files of write_via_temp under `dir` (".<name>.tmp<hex>") that a
// killed process left behind; the caller must hold the directory (util/directory_lock.h).
// Returns how many were removed.
int remove_temporary_files(const std::filesystem::path& dir);

// Reads a whole file; throws InputError naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Why `path` cannot be read as a file ("file not found", "path too long (4000 characters)",
// "a directory, expected a file", "permission denied", ...), or nothing when it can. Never
// throws: a path the system refuses is bad input, not an internal error.
std::optional<std::string> unreadable_file(const std::filesystem::path& path);
// `path` for a message: whole up to `most` characters, else its start and end around "...".
std::string shortened_path(const std::filesystem::path& path, std::size_t most = 120);

}  // namespace ltrnn
