// A fit split over processes by trials (docs/design.md section 9): the processes of one fit
// meet through LibTorch's c10d (a TCPStore at rank 0, a Gloo process group over TCP), each
// simulates a contiguous share of the trials, and the gradients of every parameter are
// summed across them each iteration, so every process takes the same Adam step.
#pragma once
#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/machine.h"

namespace ltrnn {

// Where the processes of a distributed fit meet and who this one is.
struct DistributedSetup {
  int rank = 0, world_size = 1;
  std::string master_address = "127.0.0.1";  // the host of rank 0, which holds the store
  int port = 29500;
  std::chrono::seconds timeout{120};  // to connect, and for any one collective operation
  std::string source;                 // which variables gave it: "RANK/WORLD_SIZE" or "SLURM"
};

// torchrun-style RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default
// 29500); else srun's SLURM_PROCID, SLURM_NTASKS, the first host of SLURM_JOB_NODELIST and
// MASTER_PORT or 20000 + SLURM_JOB_ID mod 20000. InputError naming the variable otherwise.
DistributedSetup distributed_setup(const EnvironmentLookup& environment = process_environment);

// The first host of a SLURM node list: "node[07-09,12],gpu1" -> "node07".
std::string first_slurm_host(const std::string& node_list);

// [begin, end) of trials 0..K-1 for process `rank` of `world_size`: contiguous, sizes
// differing by at most one.
std::pair<int64_t, int64_t> trial_share(int64_t n_trials, int rank, int world_size);

// The connected processes of one fit.
class TrialGroup {
 public:
  // Connects (rank 0 serves the store and waits for the others); InputError-free: a
  // DistributedError saying which rank could not connect to what, within the timeout.
  explicit TrialGroup(const DistributedSetup& setup);
  ~TrialGroup();
  TrialGroup(const TrialGroup&) = delete;
  TrialGroup& operator=(const TrialGroup&) = delete;

  int rank() const { return setup_.rank; }
  int size() const { return setup_.world_size; }
  const DistributedSetup& setup() const { return setup_; }

  // Sums `buffer` (contiguous) over the processes in place. On a failure (a process died,
  // a timeout) throws DistributedError naming this rank, `what` and what the others said.
  void sum(torch::Tensor& buffer, const std::string& what);
  // Refuses (DistributedError) unless every process passes the same `values` (each is
  // placed in its own slot of one sum): e.g. the iteration a resumed fit starts from, a
  // checksum of the parameters and of the data. `what` names the values in the error.
  void require_agreement(const std::vector<double>& values, const std::string& what);
  // Tells the others, through the store, why this process stops (best effort).
  void report_failure(const std::string& why);
  // Bytes this process sent into sums so far (the payload; ring all-reduce moves about
  // 2 (P-1)/P of it per process).
  int64_t bytes_summed() const { return bytes_summed_; }

 private:
  struct Connection;
  DistributedSetup setup_;
  std::unique_ptr<Connection> connection_;
  int64_t bytes_summed_ = 0;
};

// A collective operation of a distributed fit failed.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ltrnn
