#!/usr/bin/env bash
# Static look at the GEMM kernels as an H100 would run them, without a GPU: writes their PTX (Runtime.Bench ptx), assembles
# it for sm_90 with ptxas and prints registers, spills and the instruction mix of each loop. Uses ptxas and cuobjdump from
# CUDA_BIN, else from PATH, else as fetched by tools/get-ptxas.sh (CUDA 11.8 from Debian's non-free nvidia-cuda-toolkit).
# ptxas 11.8 reads PTX ISA up to 7.8: the .version line is lowered, the instructions ILGPU emits (sm_80 target) are
# unchanged. The driver's JIT on the GPU machine is newer, so registers can differ by a few; the bench's occupancy line
# is the figure that counts.
set -euo pipefail
bin=${CUDA_BIN:-$(dirname "$(command -v cuobjdump || bash "$(dirname "$0")/get-ptxas.sh" --sass)")}
export PATH="$bin:$PATH" # cuobjdump runs nvdisasm
dir=${1:-/tmp/deepsharp-ptx}
rm -rf "$dir"
dotnet run -c Release --project benchmarks/Runtime.Bench -- ptx "$dir" > /dev/null
for ptx in "$dir"/*.ptx; do
  sed 's/^\.version .*/.version 7.8/' "$ptx" > "$dir/tmp.ptx"
  stats=$("$bin/ptxas" -arch=sm_90 -O3 -v "$dir/tmp.ptx" -o "$dir/tmp.cubin" 2>&1 |
    grep -oE 'Used [0-9]+ registers|[0-9]+ bytes spill (stores|loads)' | paste -sd, -)
  echo "== $(basename "$ptx" .ptx): $stats"
  "$bin/cuobjdump" -sass "$dir/tmp.cubin" | python3 "$(dirname "$0")/sass_loops.py"
done
