#!/usr/bin/env bash
# Builds PoCL 6.0 (a CPU OpenCL runtime with generic address space, which ILGPU needs) from tools/pocl/pocl-6.0.tar.xz,
# so the opencl:0 test rows run on a machine without an OpenCL GPU (see tools/pocl/README.md). Installs its build
# dependencies from the machine's configured apt sources (as root). Idempotent: an existing install is reused.
#   tools/build-pocl.sh [prefix]          (default $DEEPSHARP_POCL_PREFIX, else /opt/pocl6)
#   OCL_ICD_VENDORS=<prefix>/vendors dotnet test Runtime.sln -c Release
# Prints the vendors folder to use as OCL_ICD_VENDORS. About 4–5 minutes on 2 cores, apt installs included.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-${DEEPSHARP_POCL_PREFIX:-/opt/pocl6}}
if [ -e "$prefix/vendors/pocl6.icd" ] && [ -e "$prefix/lib/libpocl.so.2" ]; then echo "$prefix/vendors"; exit 0; fi
archive="$repo/tools/pocl/pocl-6.0.tar.xz"
echo "a9354bb6905177d7281e2d7fa6a49ea400ae3dd997cdb4c913c3ee73a9f355e0  $archive" | sha256sum -c --quiet >&2
packages=(clang-15 llvm-15-dev libclang-15-dev libclang-cpp15-dev ocl-icd-libopencl1 ocl-icd-dev ocl-icd-opencl-dev
          libhwloc-dev zlib1g-dev libtinfo-dev libxml2-dev ninja-build pkg-config cmake xz-utils)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${packages[@]}" > /dev/null 2>&1; then
  apt-get update -q > /dev/null
  apt-get install -y -q "${packages[@]}" > /dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pocl-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xJf "$archive" -C "$work"
# LLVM 15 does not name every recent CPU (an AMD EPYC here): give it one it knows.
cpu=$(llc-15 --version | sed -n 's/ *Host CPU: *//p')
case "$cpu" in ""|generic|"(unknown)") cpu=x86-64-v3 ;; esac
mkdir -p "$work/pocl-6.0/build" && cd "$work/pocl-6.0/build"
# The build's own chatter (CMake's deprecation notes, git probing an archive) goes to a log, shown only on failure.
if ! { cmake .. -G Ninja -DCMAKE_BUILD_TYPE=Release -DWITH_LLVM_CONFIG=/usr/bin/llvm-config-15 -DCMAKE_INSTALL_PREFIX="$prefix" \
         -DENABLE_ICD=ON -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_SPIRV=OFF -DENABLE_LOADABLE_DRIVERS=OFF \
         -DLLC_HOST_CPU="$cpu" && ninja && ninja install; } > "$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  echo "PoCL failed to build (the last lines of its log are above)" >&2
  exit 1
fi
mkdir -p "$prefix/vendors" && echo "$prefix/lib/libpocl.so.2" > "$prefix/vendors/pocl6.icd"
echo "$prefix/vendors"
