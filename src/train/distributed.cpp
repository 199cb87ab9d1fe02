// c10d's TCPStore and ProcessGroupGloo for the processes of one fit.
#include "train/distributed.h"

#include "ltrnn_build_config.h"

#define USE_C10D_GLOO 1  // the Gloo process group of Debian's libtorch (its header is guarded)
#include <torch/torch.h>

#include <iomanip>
#include <sstream>
#include <thread>
#ifdef LTRNN_DISTRIBUTED
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "util/errors.h"

namespace ltrnn {

namespace {

std::optional<int64_t> whole_number(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 12 || text->find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(*text);
}

int64_t required_number(const EnvironmentLookup& environment, const std::string& name) {
  const std::optional<std::string> text = environment(name);
  if (!text) throw InputError("--distributed: " + name + " is not set");
  const std::optional<int64_t> value = whole_number(text);
  if (!value) throw InputError("--distributed: " + name + " must be a whole number >= 0, got \"" + *text + "\"");
  return *value;
}

std::string first_line(const std::string& text) {
  const std::size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

std::string first_slurm_host(const std::string& node_list) {
  std::string first;
  int depth = 0;
  for (const char c : node_list) {
    if (c == ',' && depth == 0) break;
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    first += c;
  }
  const std::size_t open = first.find('[');
  if (open == std::string::npos) return first;
  // "prefix[07-09,12]suffix": the first number of the first range, with its zero padding.
  const std::size_t end = first.find_first_of(",-]", open + 1);
  const std::size_t close = first.find(']', open);
  return first.substr(0, open) + first.substr(open + 1, end - open - 1) +
         (close == std::string::npos ? "" : first.substr(close + 1));
}

DistributedSetup distributed_setup(const EnvironmentLookup& environment) {
  DistributedSetup setup;
  if (environment("RANK") || environment("WORLD_SIZE")) {
    setup.source = "RANK/WORLD_SIZE";
    setup.rank = static_cast<int>(required_number(environment, "RANK"));
    setup.world_size = static_cast<int>(required_number(environment, "WORLD_SIZE"));
    if (auto address = environment("MASTER_ADDR")) setup.master_address = *address;
  } else if (environment("SLURM_PROCID") && environment("SLURM_NTASKS")) {
    setup.source = "SLURM";
    setup.rank = static_cast<int>(required_number(environment, "SLURM_PROCID"));
    setup.world_size = static_cast<int>(required_number(environment, "SLURM_NTASKS"));
    if (auto address = environment("MASTER_ADDR")) {
      setup.master_address = *address;
    } else {
      auto nodes = environment("SLURM_JOB_NODELIST");
      if (!nodes) nodes = environment("SLURM_NODELIST");
      if (!nodes) throw InputError("--distributed: SLURM_JOB_NODELIST is not set (and no MASTER_ADDR)");
      setup.master_address = first_slurm_host(*nodes);
    }
    if (!environment("MASTER_PORT")) {
      const std::optional<int64_t> job = whole_number(environment("SLURM_JOB_ID"));
      setup.port = static_cast<int>(20000 + (job ? *job % 20000 : 0));
    }
  } else {
    throw InputError(
        "--distributed: neither RANK and WORLD_SIZE (torchrun-style launchers) nor SLURM_PROCID and SLURM_NTASKS "
        "(srun) are set; start one process per share with those variables (see docs/scaling.md)");
  }
  if (environment("MASTER_PORT")) {
    const int64_t port = required_number(environment, "MASTER_PORT");
    if (port < 1 || port > 65535) throw InputError("--distributed: MASTER_PORT must be 1..65535");
    setup.port = static_cast<int>(port);
  }
  if (setup.world_size < 1 || setup.rank >= setup.world_size)
    throw InputError("--distributed: rank " + std::to_string(setup.rank) + " is not in 0.." +
                     std::to_string(setup.world_size - 1) + " (" + setup.source + ")");
  if (setup.master_address.empty()) throw InputError("--distributed: MASTER_ADDR is empty");
  return setup;
}

std::pair<int64_t, int64_t> trial_share(int64_t n_trials, int rank, int world_size) {
  return {n_trials * rank / world_size, n_trials * (rank + 1) / world_size};
}

#ifdef LTRNN_DISTRIBUTED

struct TrialGroup::Connection {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

TrialGroup::TrialGroup(const DistributedSetup& setup) : setup_(setup), connection_(std::make_unique<Connection>()) {
  const std::string where = setup.master_address + ":" + std::to_string(setup.port);
  const std::string who = "rank " + std::to_string(setup.rank) + " of " + std::to_string(setup.world_size);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(setup.port);
    options.isServer = setup.rank == 0;
    options.numWorkers = static_cast<std::size_t>(setup.world_size);
    options.waitWorkers = true;
    options.timeout = setup.timeout;
    connection_->store = c10::make_intrusive<c10d::TCPStore>(setup.master_address, options);
  } catch (const std::exception& error) {
    throw DistributedError("distributed fit, " + who + ": could not meet the other processes at " + where + " within " +
                           std::to_string(setup.timeout.count()) + " s (" + first_line(error.what()) +
                           "); check MASTER_ADDR/MASTER_PORT and that all " + std::to_string(setup.world_size) +
                           " processes started");
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(setup.timeout);
    // The interface that reaches rank 0's address: 127.0.0.1 for local processes.
    options->devices.push_back(setup.master_address == "127.0.0.1" || setup.master_address == "localhost"
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    connection_->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(connection_->store, setup.rank, setup.world_size, options);
  } catch (const std::exception& error) {
    throw DistributedError("distributed fit, " + who + ": the Gloo process group did not form (" +
                           first_line(error.what()) + ")");
  }
}

TrialGroup::~TrialGroup() = default;

void TrialGroup::sum(torch::Tensor& buffer, const std::string& what) {
  bytes_summed_ += buffer.numel() * static_cast<int64_t>(buffer.element_size());
  std::vector<at::Tensor> tensors{buffer};
  try {
    connection_->group->allreduce(tensors)->wait();
  } catch (const std::exception& error) {
    // What the others said before they stopped (when the store, at rank 0, still answers).
    std::string reports;
    for (int other = 0; other < setup_.world_size; ++other) {
      if (other == setup_.rank) continue;
      const std::string key = "ltrnn/failure/" + std::to_string(other);
      try {
        if (connection_->store->check({key})) {
          const std::vector<uint8_t> text = connection_->store->get(key);
          reports += "; rank " + std::to_string(other) + " reported: " + std::string(text.begin(), text.end());
        }
      } catch (const std::exception&) {
        reports += other == 0 ? "; rank 0 (which holds the store) is unreachable" : "";
      }
    }
    throw DistributedError("distributed fit, rank " + std::to_string(setup_.rank) + " of " +
                           std::to_string(setup_.world_size) + ": " + what + " failed (" + first_line(error.what()) +
                           "): another process of the fit stopped or cannot be reached" + reports);
  }
}

void TrialGroup::require_agreement(const std::vector<double>& values, const std::string& what) {
  const int64_t n = static_cast<int64_t>(values.size());
  torch::Tensor slots = torch::zeros({setup_.world_size, n}, torch::kFloat64);
  slots[setup_.rank].copy_(torch::tensor(values, torch::kFloat64));
  sum(slots, "the comparison of " + what);
  for (int other = 1; other < setup_.world_size; ++other)
    if (!torch::equal(slots[other], slots[0])) {
      std::ostringstream text;
      text << std::setprecision(17) << "distributed fit: rank " << other << " and rank 0 differ in " << what
           << " (rank 0: " << slots[0] << ", rank " << other << ": " << slots[other] << ")";
      throw DistributedError(text.str());
    }
}

void TrialGroup::report_failure(const std::string& why) {
  try {
    const std::string key = "ltrnn/failure/" + std::to_string(setup_.rank);
    connection_->store->set(key, std::vector<uint8_t>(why.begin(), why.end()));
  } catch (const std::exception&) {
    // the store is gone with rank 0: the others learn of the failure from the broken connection
  }
}

#else  // built with -DLTRNN_DISTRIBUTED=OFF: no process group to form

struct TrialGroup::Connection {};

TrialGroup::TrialGroup(const DistributedSetup& setup) : setup_(setup) {
  throw DistributedError(
      "distributed fit: this ltrnn was built without distributed fits (-DLTRNN_DISTRIBUTED=OFF, no Gloo "
      "headers); build it with libgloo-dev installed, or fit in one process");
}
TrialGroup::~TrialGroup() = default;
void TrialGroup::sum(torch::Tensor&, const std::string&) {}
void TrialGroup::require_agreement(const std::vector<double>&, const std::string&) {}
void TrialGroup::report_failure(const std::string&) {}

#endif

}  // namespace ltrnn
