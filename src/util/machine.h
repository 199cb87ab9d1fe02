// What this machine is: its name and how much memory a process may use.
#pragma once
#include <cstdint>
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

}  // namespace ltrnn
