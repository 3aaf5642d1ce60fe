#!/usr/bin/env bash
# The one script run on the GPU machine (no .NET there): unpack the self-contained build made by pack-gpu.sh, then run
# the device example, the benchmarks next to the PyTorch peer, the main job and its cold start, and the test suites
# (CUDA rows included). SKIP_BENCH=1 runs only the tests; SKIP_TESTS=1 only the rest; GEMM_ONLY=1 only the GEMM table
# (every dispatch option, the FFMA ceiling) and the CUDA GEMM tests, for trying GEMM options.
set -uo pipefail
out=${OUT:-/tmp/out}; mkdir -p "$out"
mkdir -p /tmp/app && tar -C /tmp/app -xJf .device/app.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
/tmp/app/app/Devices > "$out/devices.txt" 2>&1; tail -3 "$out/devices.txt"
if [ "${GEMM_ONLY:-0}" = 1 ]; then
  timeout 150 /tmp/app/app/DeepSharp.Runtime.Bench gemm cuda:0 2>&1 | tee "$out/gemm.txt"
  timeout 120 /tmp/app/app/DeepSharp.Runtime.Tests -noColor -class DeepSharp.Tests.MatMulTests -class DeepSharp.Tests.GemmVectorTests \
    -class DeepSharp.Tests.TensorCoreTests \
    > "$out/gemm-tests.txt" 2>&1
  echo "GEMM tests exit code: $?"; grep -A6 "\[FAIL\]" "$out/gemm-tests.txt" | head -40; grep -E "Total:" "$out/gemm-tests.txt"
  exit 0
fi
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  timeout 240 /tmp/app/app/DeepSharp.Runtime.Bench gpu 2>&1 | tee "$out/bench.txt"
  timeout 120 python3 benchmarks/gpu/torch_bench.py 2>&1 | tee "$out/torch.txt"
  for w in 0 1 0 1; do
    BENCH_WARMUP=$w timeout 60 /tmp/app/app/DeepSharp.Runtime.Bench coldstart cuda:0 2>&1 | tail -1 | tee -a "$out/coldstart.txt"
  done
  ( time timeout 60 /tmp/app/app/Digits --device cuda:0 --out /tmp/digits ) > "$out/digits.txt" 2>&1
  grep -E "test accuracy|kernels compiled|real" "$out/digits.txt"
fi
[ "${SKIP_TESTS:-0}" = 1 ] && exit 0
timeout 240 /tmp/app/app/DeepSharp.Runtime.Tests -noColor > "$out/tests.txt" 2>&1; echo "tests exit code: $?" | tee -a "$out/tests.txt"
grep -A6 "\[FAIL\]" "$out/tests.txt" | head -80; grep -E "Total:" "$out/tests.txt"
timeout 90 /tmp/app/app/DeepSharp.Layers.Tests -noColor > "$out/layers-tests.txt" 2>&1
echo "layers tests exit code: $?" | tee -a "$out/layers-tests.txt"
grep -A6 "\[FAIL\]" "$out/layers-tests.txt" | head -40; grep -E "Total:" "$out/layers-tests.txt"
timeout 90 /tmp/app/app/DeepSharp.IO.Tests -noColor > "$out/io-tests.txt" 2>&1; echo "io tests exit code: $?" | tee -a "$out/io-tests.txt"
grep -A6 "\[FAIL\]" "$out/io-tests.txt" | head -40; grep -E "Total:" "$out/io-tests.txt"
