#!/usr/bin/env bash
# Packs the NuGet packages into a folder (default artifacts/packages): DeepSharp (what users install: it brings the other
# three), DeepSharp.Runtime, DeepSharp.Layers and DeepSharp.IO, each with its XML docs and a symbol package (.snupkg).
# A deterministic CI build (ContinuousIntegrationBuild: two clones build the same bytes) in its own artifacts folder inside
# the clone, artifacts/pack-build (source paths map to /_/), so the projects' bin/ and obj/ are left alone.
# Usage: bash tools/pack.sh [output-folder [msbuild options…]], e.g. bash tools/pack.sh ~/feed -p:VersionSuffix=dev.2
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-artifacts/packages}")
build=artifacts/pack-build
rm -rf "$build"
rm -rf "$out" && mkdir -p "$out"
for project in Runtime/Runtime Layers/Layers IO/IO Package/Package; do
  dotnet pack "src/$project.csproj" -c Release -o "$out" --artifacts-path "$build" -p:ContinuousIntegrationBuild=true -nologo \
    -v quiet "${@:2}"
done
ls "$out"
