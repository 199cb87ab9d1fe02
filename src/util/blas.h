// The BLAS that LibTorch's matrix products run on. Debian's LibTorch calls whatever
// libblas.so.3 the system selects; OpenBLAS keeps its own thread pool, which
// torch::set_num_threads does not reach.
#pragma once
#include <string>

namespace ltrnn {

// Sets OpenBLAS's thread count when OpenBLAS is the active BLAS; a no-op otherwise.
void set_blas_threads(int threads);
// "OpenBLAS <config>" when OpenBLAS is active, else "unknown (not OpenBLAS)".
std::string blas_description();

}  // namespace ltrnn
