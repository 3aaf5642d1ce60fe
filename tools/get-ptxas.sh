#!/usr/bin/env bash
# Prints the path of NVIDIA's ptxas (CUDA 11.8, from Debian's non-free nvidia-cuda-toolkit), fetching it into a cache
# folder on first use without touching the system's apt configuration or installing anything; with --sass, cuobjdump and
# nvdisasm land beside it (tools/sass_stats.sh). CI uses it so that PtxCompileTests can check the GEMM kernels'
# registers and spills for sm_90 without a GPU. Exits non-zero if it cannot.
set -euo pipefail
d=${XDG_CACHE_HOME:-$HOME/.cache}/deepsharp/cuda-tools
tools=(./usr/bin/ptxas); [ "${1:-}" = --sass ] && tools+=(./usr/bin/cuobjdump ./usr/bin/nvdisasm)
missing=0; for t in "${tools[@]}"; do [ -x "$d/root/$t" ] || missing=1; done
if [ "$missing" = 1 ]; then
  mkdir -p "$d/lists/partial" "$d/archives/partial"
  archive=$(bash "$(dirname "$0")/debian-archive.sh")  # the machine's configured Debian archive, never a hard-coded host
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive $codename non-free" > "$d/sources.list"
  opts=(-q -o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$d/lists"
        -o "Dir::Cache::Archives=$d/archives" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  timeout 120 apt-get "${opts[@]}" update > /dev/null
  (cd "$d" && timeout 120 apt-get "${opts[@]}" download nvidia-cuda-toolkit > /dev/null)
  mkdir -p "$d/root" && dpkg-deb --fsys-tarfile "$d"/nvidia-cuda-toolkit_*.deb | tar -x -C "$d/root" "${tools[@]}"
  rm -f "$d"/nvidia-cuda-toolkit_*.deb
fi
"$d/root/usr/bin/ptxas" --version > /dev/null
echo "$d/root/usr/bin/ptxas"
