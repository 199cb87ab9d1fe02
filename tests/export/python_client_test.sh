#!/usr/bin/env bash
# Fits every model family briefly with the ltrnn binary ($1), then loads each model.pt in
# Python with Debian's PyTorch (/usr/bin/python3, package python3-torch).
set -euo pipefail
ltrnn="$1"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$ltrnn" simulate teacher --hidden 8 --neurons 6 --trials-per-epoch 4 --bins 10 --preparatory-bins 3 \
  --out "$work/teacher.npz" > /dev/null
runs=()
for family in tensor_rank full static matrix_rank; do
  rank=(--rank 2)
  [[ "$family" == full || "$family" == static ]] && rank=()
  "$ltrnn" fit --data "$work/teacher.npz" --model "$family" "${rank[@]}" --hidden 6 --iterations 10 \
    --quiet --out "$work/$family" > /dev/null 2>&1
  runs+=("$work/$family/runs/"*)
done
/usr/bin/python3 "$here/python_client.py" "${runs[@]}"
