// ltrnn: fit low-tensor-rank RNNs to neural recordings made over learning.
#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // A training iteration allocates and frees the same large tensors (T x K x N) every time.
  // glibc would return them to the kernel (munmap, heap trimming) and fault them back in,
  // zeroed, on the next iteration: that cost B1 about a third of its time with two threads.
  // Keep blocks up to 32 MiB in the heap and the freed heap top mapped.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  return ltrnn::run_cli(argc, argv);
}
