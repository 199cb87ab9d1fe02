// OpenBLAS found at run time (dlsym), so that ltrnn runs on any BLAS.
#include "util/blas.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

namespace ltrnn {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

std::string blas_description() {
  using GetConfig = char* (*)();
  if (auto config = reinterpret_cast<GetConfig>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    const std::string text = config();
    return text.rfind("OpenBLAS", 0) == 0 ? text : "OpenBLAS " + text;
  }
  return "unknown (not OpenBLAS)";
}

std::string blas_core() {
  using GetCoreName = char* (*)();
  if (auto core = reinterpret_cast<GetCoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) return core();
  return "";
}

CpuFeatures cpu_features() {
  CpuFeatures cpu;
#if defined(__x86_64__)
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.fma = __builtin_cpu_supports("fma");
  cpu.avx512f = __builtin_cpu_supports("avx512f");
#endif
  return cpu;
}

std::string describe(const CpuFeatures& cpu) {
  std::string text;
  for (const auto& [has, name] : {std::pair{cpu.avx2, "avx2"}, {cpu.fma, "fma"}, {cpu.avx512f, "avx512f"}})
    if (has) text += (text.empty() ? "" : " ") + std::string(name);
  return text.empty() ? "no avx2, fma or avx512f" : text;
}

std::optional<std::string> better_blas_core(const std::string& chosen, const CpuFeatures& cpu) {
  if (chosen.empty() || !cpu.avx2 || !cpu.fma) return std::nullopt;
  // OpenBLAS 0.3.21's x86-64 cores whose kernels use AVX2 and FMA (its kernel/x86_64/KERNEL.*).
  static const std::array<const char*, 5> modern{"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
  const std::string name = lower(chosen);
  if (std::find(modern.begin(), modern.end(), name) != modern.end()) return std::nullopt;
  return std::string("Haswell");
}

namespace {

// The OPENBLAS_CORETYPE a restart should set, or nothing (see restart_with_runtime_settings).
std::optional<std::string> blas_core_to_set(std::ostream& note) {
  const std::string core = blas_core();
  if (environment(kBlasCoreVariable)) {
    // Set by the user (kept as it is) or by this restart, in which case it should have acted.
    if (const char* chosen = environment(kBlasRestartMarker); chosen && better_blas_core(core, cpu_features()))
      note << "ltrnn: warning: restarted with " << kBlasCoreVariable << "=" << chosen << " but OpenBLAS still uses its "
           << core << " kernels\n";
    return std::nullopt;
  }
  if (environment(kBlasRestartMarker)) return std::nullopt;  // a restart whose variable was removed: never loop
  const char* assumed = environment(kBlasAssumedCoreVariable);
  const std::string chosen = assumed ? assumed : core;
  const CpuFeatures cpu = cpu_features();
  const std::optional<std::string> better = better_blas_core(chosen, cpu);
  if (better)
    note << "ltrnn: OpenBLAS chose its " << chosen << " kernels on a CPU with " << describe(cpu) << "; restarting with "
         << kBlasCoreVariable << "=" << *better << " (set " << kBlasCoreVariable << " to choose yourself)" << std::endl;
  return better;
}

}  // namespace

void restart_with_runtime_settings(const char* const* argv, bool computes, std::ostream& note) {
  std::vector<std::pair<const char*, std::string>> settings;
  if (const auto core = blas_core_to_set(note)) {
    settings.emplace_back(kBlasCoreVariable, *core);
    settings.emplace_back(kBlasRestartMarker, *core);
  }
  // A restart sets GOMP_SPINCOUNT, so a restarted process never comes here again.
  if (computes && !environment(kSpinCountVariable) && !environment(kWaitPolicyVariable))
    settings.emplace_back(kSpinCountVariable, kComputeSpinCount);
  if (settings.empty()) return;
  for (const auto& [name, value] : settings) setenv(name, value.c_str(), 1);
  execv("/proc/self/exe", const_cast<char* const*>(argv));
  // Still here: the restart failed; go on as the process was started.
  note << "ltrnn: warning: could not restart with the settings it needs (" << std::strerror(errno)
       << "); continuing without\n";
  for (const auto& setting : settings) unsetenv(setting.first);
}

std::string openmp_waiting() {
  for (const char* name : {kSpinCountVariable, kWaitPolicyVariable})
    if (const char* value = environment(name)) return std::string(name) + "=" + value;
  return "libgomp's default";
}

}  // namespace ltrnn
