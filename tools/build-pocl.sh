#!/usr/bin/env bash
# Builds PoCL 6.0 (a CPU OpenCL runtime with generic address space, which ILGPU needs) from a source tree, so the
# opencl:0 test rows run on a machine without an OpenCL GPU. Debian 12's own PoCL 3.1 lacks generic address space and
# ILGPU rejects it, which is why CI has no OpenCL device. Usage, as root:
#   tools/build-pocl.sh /path/to/pocl-6.0-source            (e.g. `git archive v6.0` of github.com/pocl/pocl)
#   OCL_ICD_VENDORS=/opt/pocl6/vendors dotnet test Runtime.sln -c Release
# Took about 2 minutes on 2 cores (LLVM 15 from Debian; kernel library for this CPU only).
set -euo pipefail
src=${1:?pocl source directory}
DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang-15 llvm-15-dev libclang-15-dev libclang-cpp15-dev \
  ocl-icd-libopencl1 ocl-icd-dev ocl-icd-opencl-dev libhwloc-dev zlib1g-dev libtinfo-dev libxml2-dev ninja-build pkg-config cmake > /dev/null
# LLVM 15 does not name every recent CPU (an AMD EPYC here): give it one it knows.
cpu=$(llc-15 --version | sed -n 's/ *Host CPU: *//p')
case "$cpu" in ""|generic|"(unknown)") cpu=x86-64-v3 ;; esac
mkdir -p "$src/build" && cd "$src/build"
cmake .. -G Ninja -DCMAKE_BUILD_TYPE=Release -DWITH_LLVM_CONFIG=/usr/bin/llvm-config-15 -DCMAKE_INSTALL_PREFIX=/opt/pocl6 \
  -DENABLE_ICD=ON -DENABLE_TESTS=OFF -DENABLE_EXAMPLES=OFF -DENABLE_SPIRV=OFF -DENABLE_LOADABLE_DRIVERS=OFF -DLLC_HOST_CPU="$cpu" > /dev/null
ninja > /dev/null && ninja install > /dev/null
mkdir -p /opt/pocl6/vendors && echo /opt/pocl6/lib/libpocl.so.2 > /opt/pocl6/vendors/pocl6.icd
echo "PoCL installed: run with OCL_ICD_VENDORS=/opt/pocl6/vendors"
