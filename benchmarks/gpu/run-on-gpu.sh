#!/usr/bin/env bash
# The one script run on the GPU machine (no .NET there): unpack the self-contained build made by pack-gpu.sh, then run
# the device example, the whole test suite (CUDA rows included) and the benchmarks next to the PyTorch peer.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
mkdir -p /tmp/app && tar -C /tmp/app -xJf .device/app.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
/tmp/app/app/Devices 2>&1 | tee "$out/devices.txt"
timeout 300 /tmp/app/app/DeepSharp.Runtime.Tests -noColor > "$out/tests.txt" 2>&1; echo "tests exit code: $?" | tee -a "$out/tests.txt"
grep -A6 "\[FAIL\]" "$out/tests.txt" | head -120; grep -E "Total:" "$out/tests.txt"
timeout 120 /tmp/app/app/DeepSharp.Layers.Tests -noColor > "$out/layers-tests.txt" 2>&1; echo "layers tests exit code: $?" | tee -a "$out/layers-tests.txt"
grep -A6 "\[FAIL\]" "$out/layers-tests.txt" | head -60; grep -E "Total:" "$out/layers-tests.txt"
timeout 120 /tmp/app/app/DeepSharp.IO.Tests -noColor > "$out/io-tests.txt" 2>&1; echo "io tests exit code: $?" | tee -a "$out/io-tests.txt"
grep -A6 "\[FAIL\]" "$out/io-tests.txt" | head -60; grep -E "Total:" "$out/io-tests.txt"
# PyTorch interop: PyTorch writes a golden safetensors file and reads ours (needs the safetensors package there).
mkdir -p "$out/golden" && cp tests/IO.Tests/golden/deepsharp.safetensors "$out/golden/" && \
  timeout 60 python3 tests/IO.Tests/golden/pytorch_interop.py "$out/golden" 2>&1 | tail -3
[ "${SKIP_BENCH:-0}" = 1 ] && exit 0
timeout 150 /tmp/app/app/DeepSharp.Runtime.Bench gpu 2>&1 | tee "$out/bench.txt"
timeout 120 python3 benchmarks/gpu/torch_bench.py 2>&1 | tee "$out/torch.txt"
