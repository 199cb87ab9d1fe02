// CUDA kernels of the fused integrator (fused_kernels_cuda.h). The equations, and the
// order of the operations, are those of fused_kernels.inc (derived in
// fused_integration.cpp); here each trial is one thread block, each thread owns the
// neurons l = threadIdx.x + m blockDim.x, and the few sums over neurons (the low-rank
// projections r B and G A, the dense rows W r) are reduced in a fixed order (warp
// shuffles, then the warps in order), so the numbers do not depend on scheduling.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "model/fused_kernels_cuda.h"

namespace ltrnn {
namespace {

constexpr int kMaxStages = 4;  // RK4
constexpr int kWarp = 32;

// The kernels' copy of a FusedProblem: plain values (the tableau's steps premultiplied by h
// in double, then rounded, as the CPU kernels do).
template <class Scalar>
struct DeviceProblem {
  int64_t trials, N, R, n_bins, substeps, drive_bins;
  int stages;
  Scalar ha[kMaxStages][kMaxStages];  // h a[j][i]
  Scalar hb[kMaxStages];              // h b_j
  Scalar inv_tau;
  const int64_t* input_slot;
  const Scalar *At, *Bt, *c, *W;
  bool per_trial;
  const Scalar *drive, *constant_drive;
  Scalar *hidden, *rates, *stage_rates, *stage_projections, *stage_states;
};

template <class Scalar>
DeviceProblem<Scalar> device_problem(const FusedProblem<Scalar>& p, const int64_t* input_slot_on_device) {
  DeviceProblem<Scalar> d{};
  d.trials = p.trials, d.N = p.N, d.R = p.R, d.n_bins = p.n_bins, d.substeps = p.substeps;
  d.drive_bins = p.drive_bins;
  d.stages = static_cast<int>(p.tableau.stages());
  if (d.stages > kMaxStages) throw std::runtime_error("integrate_fused (CUDA): at most 4 stages");
  for (int j = 0; j < d.stages; ++j) {
    d.hb[j] = static_cast<Scalar>(p.h * p.tableau.b(j));
    for (int i = 0; i < j; ++i) d.ha[j][i] = static_cast<Scalar>(p.h * p.tableau.a[j][i]);
  }
  d.inv_tau = static_cast<Scalar>(p.inv_tau);
  d.input_slot = input_slot_on_device;
  d.At = p.At, d.Bt = p.Bt, d.c = p.c, d.W = p.W, d.per_trial = p.per_trial_weights;
  d.drive = p.drive, d.constant_drive = p.constant_drive;
  d.hidden = p.hidden, d.rates = p.rates, d.stage_rates = p.stage_rates;
  d.stage_projections = p.stage_projections, d.stage_states = p.stage_states;
  return d;
}

__device__ inline float tanh_of(float x) { return tanhf(x); }
__device__ inline double tanh_of(double x) { return tanh(x); }

template <class Scalar>
__device__ inline Scalar warp_sum(Scalar v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;  // lane 0 holds the warp's sum
}

// out[q] = sum over the block's threads of partial(q), for q < count: every thread's
// partials are summed in its warp, then the warps in order. `scratch` holds count x warps.
// Ends with the block synchronised and out[] visible to every thread.
template <class Scalar, class Partial>
__device__ inline void block_sums(int count, const Partial& partial, Scalar* scratch, Scalar* out) {
  const int warps = blockDim.x / kWarp, warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  for (int q = 0; q < count; ++q) {
    const Scalar v = warp_sum(partial(q));
    if (lane == 0) scratch[q * warps + warp] = v;
  }
  __syncthreads();
  for (int q = threadIdx.x; q < count; q += blockDim.x) {
    Scalar sum = 0;
    for (int w = 0; w < warps; ++w) sum += scratch[q * warps + w];
    out[q] = sum;
  }
  __syncthreads();
}

// out[q] = v . rows[q] for q < R, rows [R, N] (the low-rank projections r B and G A).
template <class Scalar>
__device__ inline void project_onto_rows(const Scalar* v, const Scalar* rows, int64_t R, int64_t N, Scalar* scratch,
                                         Scalar* out) {
  block_sums(
      static_cast<int>(R),
      [&](int q) {
        Scalar partial = 0;
        for (int64_t l = threadIdx.x; l < N; l += blockDim.x) partial += v[l] * rows[q * N + l];
        return partial;
      },
      scratch, out);
}

// Offsets into the [*, trials, N] blocks, as TrialRows of fused_kernels.inc.
template <class Scalar>
struct Rows {
  const DeviceProblem<Scalar>& p;
  int64_t trial;
  __device__ int64_t at(int64_t t) const { return (t * p.trials + trial) * p.N; }
  __device__ int64_t stage_index(int64_t step, int j) const { return (step * p.stages + j) * p.trials + trial; }
  __device__ const Scalar* external(int64_t bin) const {
    const int64_t slot = p.input_slot[bin];
    return slot >= 0 ? p.drive + (trial * p.drive_bins + slot) * p.N : p.constant_drive;
  }
  __device__ const Scalar* At() const { return p.At + (p.per_trial ? trial * p.R * p.N : 0); }
  __device__ const Scalar* Bt() const { return p.Bt + (p.per_trial ? trial * p.R * p.N : 0); }
  __device__ const Scalar* c() const { return p.c ? p.c + trial * p.R : nullptr; }
  __device__ const Scalar* W() const { return p.W + (p.per_trial ? trial * p.N * p.N : 0); }
};

// Shared memory of the forward: x, y, r [N] each, slopes [stages, N], the reduction scratch
// [R, warps] and the projections [R].
template <class Scalar>
__global__ void integrate_kernel(DeviceProblem<Scalar> p, const Scalar* x0) {
  extern __shared__ unsigned char shared_bytes[];
  Scalar* memory = reinterpret_cast<Scalar*>(shared_bytes);
  const int64_t N = p.N, R = p.R;
  const int warps = blockDim.x / kWarp;
  Scalar *x = memory, *y = x + N, *r = y + N, *slopes = r + N, *scratch = slopes + p.stages * N,
         *projection = scratch + R * warps;
  const Rows<Scalar> rows{p, blockIdx.x};
  const bool dense = p.W != nullptr;
  const Scalar *At = dense ? nullptr : rows.At(), *Bt = dense ? nullptr : rows.Bt(), *c = dense ? nullptr : rows.c();
  const Scalar* W = dense ? rows.W() : nullptr;
  for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
    x[l] = x0[blockIdx.x * N + l];
    p.hidden[rows.at(0) + l] = x[l];
    p.rates[rows.at(0) + l] = tanh_of(x[l]);
  }
  int64_t step = 0;
  for (int64_t bin = 0; bin + 1 < p.n_bins; ++bin) {
    const Scalar* e = rows.external(bin);
    for (int64_t s = 0; s < p.substeps; ++s, ++step) {
      for (int j = 0; j < p.stages; ++j) {
        // y_j = x + h sum_{i<j} a_ji k_i;  r_j = tanh(y_j)
        const int64_t stage = rows.stage_index(step, j);
        for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
          Scalar v = x[l];
          for (int i = 0; i < j; ++i)
            if (p.ha[j][i] != 0) v += p.ha[j][i] * slopes[i * N + l];
          y[l] = v;
          if (p.stage_states) p.stage_states[stage * N + l] = v;
          r[l] = tanh_of(v);
          p.stage_rates[stage * N + l] = r[l];
        }
        if (dense) {
          // k = (W r + e - y) / tau: one warp per row of W (coalesced reads of the row).
          __syncthreads();
          const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
          for (int64_t i = warp; i < N; i += warps) {
            Scalar partial = 0;
            for (int64_t m = lane; m < N; m += kWarp) partial += W[i * N + m] * r[m];
            partial = warp_sum(partial);
            if (lane == 0) slopes[j * N + i] = ((e[i] - y[i]) + partial) * p.inv_tau;
          }
          __syncthreads();
        } else {
          // k = (A ((r B) * c) + e - y) / tau, keeping r B for the backward.
          project_onto_rows(r, Bt, R, N, scratch, projection);
          for (int64_t q = threadIdx.x; q < R; q += blockDim.x) p.stage_projections[stage * R + q] = projection[q];
          for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
            Scalar k = e[l] - y[l];
            for (int64_t q = 0; q < R; ++q) k += (c ? projection[q] * c[q] : projection[q]) * At[q * N + l];
            slopes[j * N + l] = k * p.inv_tau;
          }
        }
      }
      for (int64_t l = threadIdx.x; l < N; l += blockDim.x)
        for (int j = 0; j < p.stages; ++j) x[l] += p.hb[j] * slopes[j * N + l];
    }
    for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
      p.hidden[rows.at(bin + 1) + l] = x[l];
      p.rates[rows.at(bin + 1) + l] = tanh_of(x[l]);
    }
  }
}

// Shared memory of the backward: g, gx, G, M [N] each, the slopes' adjoints [stages, N],
// the reduction scratch [max(R, 1), warps] and (G A) [max(R, 1)].
template <class Scalar>
__global__ void adjoint_kernel(DeviceProblem<Scalar> p, const Scalar* grad_hidden, const Scalar* grad_rates,
                               DeviceTrialGradients<Scalar> out) {
  extern __shared__ unsigned char shared_bytes[];
  Scalar* memory = reinterpret_cast<Scalar*>(shared_bytes);
  const int64_t N = p.N, R = p.R, trial = blockIdx.x;
  const int warps = blockDim.x / kWarp;
  const int64_t reduced = R > 0 ? R : 1;
  Scalar *g = memory, *gx = g + N, *G = gx + N, *M = G + N, *g_slope = M + N, *scratch = g_slope + p.stages * N,
         *GA = scratch + reduced * warps;
  const Rows<Scalar> rows{p, trial};
  const bool dense = p.W != nullptr;
  const Scalar *At = dense ? nullptr : rows.At(), *Bt = dense ? nullptr : rows.Bt(), *c = dense ? nullptr : rows.c();
  const Scalar* W = dense ? rows.W() : nullptr;
  Scalar* dAt = dense ? nullptr : out.dAt + trial * R * N;
  Scalar* dBt = dense ? nullptr : out.dBt + trial * R * N;
  Scalar* dW = dense ? out.dW + trial * N * N : nullptr;
  Scalar d_inv_tau = 0;  // this thread's part of sum over stages of G . (W r + e - y)
  // dL/dx(t) += dL/dhidden(t) + dL/drates(t) (1 - rates(t)^2)
  const auto add_output_grads = [&](int64_t t) {
    for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
      const int64_t at = rows.at(t) + l;
      if (grad_hidden) g[l] += grad_hidden[at];
      if (grad_rates) g[l] += grad_rates[at] * (1 - p.rates[at] * p.rates[at]);
    }
  };
  for (int64_t l = threadIdx.x; l < N; l += blockDim.x) g[l] = 0;
  int64_t step = (p.n_bins - 1) * p.substeps;
  for (int64_t bin = p.n_bins - 2; bin >= 0; --bin) {
    add_output_grads(bin + 1);
    const int64_t slot = p.input_slot[bin];
    Scalar* de = slot >= 0 ? out.d_drive + (trial * p.drive_bins + slot) * N : out.d_constant + trial * N;
    const Scalar* e = rows.external(bin);
    for (int64_t s = p.substeps - 1; s >= 0; --s) {
      --step;
      // dL/dk_j = h b_j g; dL/dx starts at g.
      for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
        for (int j = 0; j < p.stages; ++j) g_slope[j * N + l] = p.hb[j] * g[l];
        gx[l] = g[l];
      }
      for (int j = p.stages - 1; j >= 0; --j) {
        const int64_t stage = rows.stage_index(step, j);
        const Scalar* r = p.stage_rates + stage * N;
        __syncthreads();  // G and M of the previous stage are read by other threads (dense)
        for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
          G[l] = g_slope[j * N + l] * p.inv_tau;
          de[l] += G[l];
          M[l] = 0;
        }
        if (dense) {
          // M = W^T G, dW += G r^T: each thread its columns m, the rows i in order.
          __syncthreads();
          for (int64_t m = threadIdx.x; m < N; m += blockDim.x) {
            Scalar sum = 0;
            const Scalar rm = r[m];
            for (int64_t i = 0; i < N; ++i) {
              sum += G[i] * W[i * N + m];
              dW[i * N + m] += G[i] * rm;
            }
            M[m] = sum;
          }
        } else {
          // (G A)_q; M = ((G A) * c) B^T; dA += G^T ((r B) * c), dB += r^T ((G A) * c), dc += (G A) * (r B)
          project_onto_rows(G, At, R, N, scratch, GA);
          const Scalar* rB = p.stage_projections + stage * R;
          for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
            Scalar m = 0;
            for (int64_t q = 0; q < R; ++q) {
              const Scalar cq = c ? c[q] : Scalar(1);
              dAt[q * N + l] += rB[q] * cq * G[l];
              dBt[q * N + l] += GA[q] * cq * r[l];
              m += GA[q] * cq * Bt[q * N + l];
            }
            M[l] = m;
          }
          if (out.dc)
            for (int64_t q = threadIdx.x; q < R; q += blockDim.x) out.dc[trial * R + q] += GA[q] * rB[q];
        }
        for (int64_t l = threadIdx.x; l < N; l += blockDim.x) {
          // dL/d(1/tau) += G . (W r + e - y) tau, with G . W r = (W^T G) . r.
          if (out.d_inv_tau) d_inv_tau += M[l] * r[l] + G[l] * e[l] - G[l] * p.stage_states[stage * N + l];
          // dL/dy_j = (1 - r^2) M - G, into dL/dx and the earlier stages' slopes.
          const Scalar dy = M[l] * (1 - r[l] * r[l]) - G[l];
          gx[l] += dy;
          for (int i = 0; i < j; ++i)
            if (p.ha[j][i] != 0) g_slope[i * N + l] += p.ha[j][i] * dy;
        }
      }
      for (int64_t l = threadIdx.x; l < N; l += blockDim.x) g[l] = gx[l];
    }
  }
  add_output_grads(0);
  for (int64_t l = threadIdx.x; l < N; l += blockDim.x) out.dx0[trial * N + l] = g[l];
  if (out.d_inv_tau) {
    __syncthreads();
    block_sums(
        1, [&](int) { return d_inv_tau; }, scratch, GA);
    if (threadIdx.x == 0) out.d_inv_tau[trial] = GA[0] / p.inv_tau;
  }
}

// Threads per block: the neurons rounded up to whole warps, at most 1024.
int threads_for(int64_t N) {
  const int64_t warps = (N + kWarp - 1) / kWarp;
  return static_cast<int>(std::min<int64_t>(32, std::max<int64_t>(1, warps)) * kWarp);
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("integrate_fused (CUDA): ") + what + ": " + cudaGetErrorString(status));
}

// Allows a kernel more than the default 48 KiB of dynamic shared memory when it needs it.
template <class Kernel>
void allow_shared_memory(Kernel kernel, std::size_t bytes) {
  if (bytes <= 48 * 1024) return;
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
        "the shared memory of one trial (N too large for one block)");
}

}  // namespace

template <class Scalar>
void integrate_trials_cuda(const FusedProblem<Scalar>& p, const Scalar* x0, const int64_t* input_slot_on_device,
                           void* stream) {
  if (p.trials == 0) return;
  const DeviceProblem<Scalar> d = device_problem(p, input_slot_on_device);
  const int threads = threads_for(p.N);
  const std::size_t bytes =
      sizeof(Scalar) * static_cast<std::size_t>((3 + d.stages) * p.N + p.R * (threads / kWarp) + p.R);
  allow_shared_memory(integrate_kernel<Scalar>, bytes);
  integrate_kernel<Scalar>
      <<<static_cast<unsigned>(p.trials), threads, bytes, static_cast<cudaStream_t>(stream)>>>(d, x0);
  check(cudaGetLastError(), "the forward kernel's launch");
}

template <class Scalar>
void adjoint_trials_cuda(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                         const DeviceTrialGradients<Scalar>& out, const int64_t* input_slot_on_device, void* stream) {
  if (p.trials == 0) return;
  const DeviceProblem<Scalar> d = device_problem(p, input_slot_on_device);
  const int threads = threads_for(p.N);
  const int64_t reduced = std::max<int64_t>(p.R, 1);
  const std::size_t bytes =
      sizeof(Scalar) * static_cast<std::size_t>((4 + d.stages) * p.N + reduced * (threads / kWarp) + reduced);
  allow_shared_memory(adjoint_kernel<Scalar>, bytes);
  adjoint_kernel<Scalar><<<static_cast<unsigned>(p.trials), threads, bytes, static_cast<cudaStream_t>(stream)>>>(
      d, grad_hidden, grad_rates, out);
  check(cudaGetLastError(), "the backward kernel's launch");
}

template void integrate_trials_cuda<float>(const FusedProblem<float>&, const float*, const int64_t*, void*);
template void integrate_trials_cuda<double>(const FusedProblem<double>&, const double*, const int64_t*, void*);
template void adjoint_trials_cuda<float>(const FusedProblem<float>&, const float*, const float*,
                                         const DeviceTrialGradients<float>&, const int64_t*, void*);
template void adjoint_trials_cuda<double>(const FusedProblem<double>&, const double*, const double*,
                                          const DeviceTrialGradients<double>&, const int64_t*, void*);

}  // namespace ltrnn
