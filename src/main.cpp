// ltrnn: fit low-tensor-rank RNNs to neural recordings made over learning.
#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // A training iteration allocates and frees the same large tensors (T x K x N) every time.
  // glibc would return them to the kernel (munmap, heap trimming) and fault them back in,
  // zeroed, on the next iteration: that cost B1 about a third of its time with two threads,
  // and made the time grow faster than the sizes. Serve every block from the heap (no
  // mmap) and keep the freed heap mapped; the peak resident memory is unchanged.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  return ltrnn::run_cli(argc, argv);
}
