// The integrator's kernels built for AVX2 + FMA (selected at run time when the CPU has them).
#define LTRNN_ISA avx2
#include "model/fused_kernels.inc"
