#!/usr/bin/env bash
# Publishes the tests, the benchmarks and the device example self-contained into one folder (they share the runtime,
# so one archive stays well under the 64 MiB carry limit) and packs it as .device/app.tar.xz. ReadyToRun, as a deployed
# app would be: it halves the time ILGPU takes to compile kernels in a fresh process (benchmarks/NOTES.md, cold start).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
tmp=$(mktemp -d)
for p in tests/Runtime.Tests/Runtime.Tests.csproj tests/Layers.Tests/Layers.Tests.csproj tests/IO.Tests/IO.Tests.csproj \
         benchmarks/Runtime.Bench/Runtime.Bench.csproj examples/Devices/Devices.csproj examples/Digits/Digits.csproj; do
  dotnet publish "$p" -c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -o "$tmp/app" -nologo -v quiet
done
mkdir -p .device && tar -C "$tmp" -cJf .device/app.tar.xz app && rm -rf "$tmp"
du -m .device/app.tar.xz
