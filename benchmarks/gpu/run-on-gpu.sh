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
timeout 150 /tmp/app/app/DeepSharp.Runtime.Bench gpu 2>&1 | tee "$out/bench.txt"
timeout 120 python3 benchmarks/gpu/torch_bench.py 2>&1 | tee "$out/torch.txt"
