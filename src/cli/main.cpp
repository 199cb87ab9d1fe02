// ltrnn: fit low-tensor-rank RNNs to neural recordings made over learning.
#include "cli/commands.h"

int main(int argc, char** argv) { return ltrnn::run_cli(argc, argv); }
