// The model families, one row each: X(EnumValue, name). Everything a family is -- its
// weights, its TorchScript methods, its FLOP count, what the report shows of it -- is in
// src/model/families/<name>.cpp, which defines `FamilyTraits <name>_family()` (family.h).
// Adding a family: that file and one row here (docs/design.md section 2).
#pragma once

#define LTRNN_MODEL_FAMILIES(X) \
  X(TensorRank, tensor_rank)    \
  X(Full, full)                 \
  X(Static, static)             \
  X(MatrixRank, matrix_rank)
