// The integrator's kernels for any x86-64 CPU, and the run-time choice of the build.
#define LTRNN_ISA generic
#include "model/fused_kernels.inc"

namespace ltrnn {
namespace avx2 {
template <class Scalar>
void integrate_trials(const FusedProblem<Scalar>& p, const Scalar* x0, int64_t begin, int64_t end);
template <class Scalar>
void adjoint_trials(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                    const TrialGradients<Scalar>& out, SharedGradients<Scalar>& shared, int64_t begin, int64_t end);
}  // namespace avx2

namespace {
bool has_avx2_fma() {
#if defined(__x86_64__) && defined(LTRNN_HAVE_AVX2_KERNELS)
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}
}  // namespace

template <class Scalar>
void integrate_trials(const FusedProblem<Scalar>& p, const Scalar* x0, int64_t begin, int64_t end) {
#ifdef LTRNN_HAVE_AVX2_KERNELS
  if (has_avx2_fma()) return avx2::integrate_trials(p, x0, begin, end);
#endif
  generic::integrate_trials(p, x0, begin, end);
}

template <class Scalar>
void adjoint_trials(const FusedProblem<Scalar>& p, const Scalar* grad_hidden, const Scalar* grad_rates,
                    const TrialGradients<Scalar>& out, SharedGradients<Scalar>& shared, int64_t begin, int64_t end) {
#ifdef LTRNN_HAVE_AVX2_KERNELS
  if (has_avx2_fma()) return avx2::adjoint_trials(p, grad_hidden, grad_rates, out, shared, begin, end);
#endif
  generic::adjoint_trials(p, grad_hidden, grad_rates, out, shared, begin, end);
}

float tanh_float(float x) { return generic::tanh_float(x); }

template void integrate_trials<float>(const FusedProblem<float>&, const float*, int64_t, int64_t);
template void integrate_trials<double>(const FusedProblem<double>&, const double*, int64_t, int64_t);
template void adjoint_trials<float>(const FusedProblem<float>&, const float*, const float*,
                                    const TrialGradients<float>&, SharedGradients<float>&, int64_t, int64_t);
template void adjoint_trials<double>(const FusedProblem<double>&, const double*, const double*,
                                     const TrialGradients<double>&, SharedGradients<double>&, int64_t, int64_t);

}  // namespace ltrnn
