#!/usr/bin/env bash
# DeepSharp against libtorch 2.10 (TorchSharp 0.107, CPU) in one process: `Runtime.Bench peer`, built with -p:TorchPeer=true.
# libtorch's libLibTorchSharp.so needs libstdc++ with GLIBCXX_3.4.32 (GCC 13+), newer than Debian 12's, and Debian 13's
# libstdc++ needs glibc 2.38. So this script fetches Debian 13's libc6, libstdc++6 and libgcc-s1 into a cache folder
# (nothing is installed system-wide) and runs the self-contained bench with that glibc's loader as its interpreter
# (patchelf on a copy of the app host). Both sides then run on the same glibc.
# Usage: bash benchmarks/cpu-peer.sh [text: only the rows whose name contains it]
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${DEEPSHARP_PEER_CACHE:-$HOME/.cache/deepsharp-peer}"
libs="$cache/trixie"
mkdir -p "$cache"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# A fresh machine may have no package lists yet: refresh them when the first install fails.
command -v patchelf >/dev/null || as_root apt-get install -y patchelf >/dev/null \
  || { as_root apt-get update >/dev/null && as_root apt-get install -y patchelf >/dev/null; }
if [ ! -e "$libs/usr/lib/x86_64-linux-gnu/libstdc++.so.6" ]; then
  mirror=$(bash tools/debian-archive.sh)  # the machine's configured Debian archive, never a hard-coded host
  curl -fsS "$mirror/dists/trixie/main/binary-amd64/Packages.xz" | xz -d > "$cache/Packages"
  for pkg in libc6 libstdc++6 libgcc-s1; do
    file=$(awk -v P="Package: $pkg" '$0 == P { p = 1 } p && /^Filename:/ { print $2; exit }' "$cache/Packages")
    curl -fsS -o "$cache/$pkg.deb" "$mirror/$file"
    dpkg-deb -x "$cache/$pkg.deb" "$libs"
  done
fi
out="$cache/app"
dotnet publish benchmarks/Runtime.Bench -c Release -r linux-x64 --self-contained -p:TorchPeer=true \
  --artifacts-path "$cache/artifacts" -o "$out" -nologo -v quiet
patchelf --set-interpreter "$libs/usr/lib64/ld-linux-x86-64.so.2" "$out/DeepSharp.Runtime.Bench"
# glibc's malloc maps big blocks fresh from the OS (page faults, zeroing) or reuses them depending on a threshold it moves
# as the process runs: libtorch's conv row measured 0.6 ms in one run and 4.3 ms in the next with the same code. Fixing
# the threshold at its maximum (32 MB) and never trimming lets libtorch reuse its freed blocks, as our pool reuses ours.
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184
LD_LIBRARY_PATH="$libs/usr/lib/x86_64-linux-gnu" "$out/DeepSharp.Runtime.Bench" peer "$@"
