#!/usr/bin/env bash
# Coverage-guided fuzzing of the checkpoint and safetensors readers with SharpFuzz and AFL++.
# Usage (from the repository root): bash fuzz/run.sh [seconds=600]
# Installs afl++ (Debian) and the sharpfuzz tool if missing, publishes the target, instruments DeepSharp.IO.dll, then
# runs afl-fuzz on the seed corpus in fuzz/corpus. Crashes (inputs for which an exception other than
# CheckpointFormatException escaped, or reading allocated more than the stated bound) land in fuzz/findings/default/crashes.
set -euo pipefail
seconds=${1:-600}
cd "$(dirname "$0")/.."
command -v afl-fuzz >/dev/null || { apt-get update -qq && apt-get install -y -qq afl++; }
command -v sharpfuzz >/dev/null || dotnet tool install --global SharpFuzz.CommandLine
export PATH="$PATH:$HOME/.dotnet/tools"
out=fuzz/bin
rm -rf "$out" && dotnet publish fuzz/Checkpoint.Fuzz -c Release -o "$out" -nologo -v quiet
sharpfuzz "$out/DeepSharp.IO.dll"
# AFL cannot see SharpFuzz's instrumentation in the dotnet host binary itself, hence AFL_SKIP_BIN_CHECK.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
rm -rf fuzz/findings
afl-fuzz -i fuzz/corpus -o fuzz/findings -t 10000 -m none -V "$seconds" -- dotnet "$out/Checkpoint.Fuzz.dll"
stats=fuzz/findings/default/fuzzer_stats
[ -f "$stats" ] || { echo "afl-fuzz did not run (no $stats)"; exit 1; }
execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
paths=$(awk -F: '/^corpus_count/ {gsub(/ /, "", $2); print $2}' "$stats")
crashes=$(find fuzz/findings -path '*crashes/id*' 2>/dev/null | wc -l)
echo "afl-fuzz ran ${seconds}s: ${execs} executions, ${paths} inputs in the corpus, ${crashes} crash(es) in fuzz/findings"
[ "$execs" -gt 0 ] && [ "$crashes" -eq 0 ]
