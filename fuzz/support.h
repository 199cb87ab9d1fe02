// What the fuzz targets share: telling a clean refusal from a finding, and scratch files.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ltrnn::fuzz {

// Runs `body`; an InputError with a message is a clean refusal. Any other exception, or an
// InputError without a message, is rethrown as a Finding naming `target` and its type.
void expect_clean(const std::string& target, const std::function<void()>& body);

// Throws Finding("<target>: <what>") unless `ok`: an invariant of an accepted input.
void check(bool ok, const std::string& target, const std::string& what);

// <dir>/<name> in a directory of this process (on tmpfs when there is one), removed at exit.
std::filesystem::path scratch_file(const std::string& name);

// Writes the bytes to scratch_file(name) and returns its path.
std::filesystem::path write_scratch_file(const std::string& name, const uint8_t* data, std::size_t size);

}  // namespace ltrnn::fuzz
