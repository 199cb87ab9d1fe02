// What this machine is: its name and how much memory a process may use.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ltrnn {

std::string host_name();
// The CPU's model name from /proc/cpuinfo ("AMD EPYC 9B14"), or "unknown CPU".
std::string cpu_model();
// The memory a process may use: the physical memory, or the cgroup's limit (a container,
// a SLURM allocation) when that is lower. Bytes.
int64_t usable_memory_bytes();
// "1.5 GiB", "380 MiB".
std::string format_bytes(double bytes);

// Reads an environment variable: process_environment (std::getenv), or a test's own table.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_environment(const std::string& name);

}  // namespace ltrnn
