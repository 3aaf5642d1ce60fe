#!/usr/bin/env bash
# Mutation testing with Stryker.NET (the local tool in .config/dotnet-tools.json): mutates one source project and runs
# every test project that exercises it against each mutant (tools/mutation/NAME.json lists them). Not part of CI: a
# run takes ~15 minutes for IO and ~5 for Layers on two cores. benchmarks/NOTES.md ("Mutation testing") has the scores and what they mean.
#
#   tools/mutation.sh IO                      # src/IO against tests/IO.Tests
#   tools/mutation.sh Layers                  # src/Layers against tests/Layers.Tests and tests/IO.Tests
#   tools/mutation.sh all                     # both, one after the other
#   tools/mutation.sh IO -m '**/DictValue.cs' # extra options go to Stryker (here: mutate one file only)
#
# Reports: StrykerOutput/NAME/reports/mutation-report.{html,json} (git-ignored) and StrykerOutput/NAME/stryker.log.
# Survivors of one file: dotnet run tools/mutation/Summary.cs -- StrykerOutput/NAME/reports/mutation-report.json --survivors FILE
# Stryker builds the test projects in Release and swaps a mutated assembly into their bin folders while it runs: rebuild
# (dotnet build -c Release) before using those folders if a run was interrupted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() { echo "usage: tools/mutation.sh IO|Layers|all [stryker options]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
target=$1; shift
case $target in
  all) names=(IO Layers) ;;
  *) [[ -f tools/mutation/$target.json ]] || usage; names=("$target") ;;
esac

dotnet tool restore >/dev/null
for name in "${names[@]}"; do
  out=$root/StrykerOutput/$name
  rm -rf "$out" && mkdir -p "$out"
  echo "== mutation testing src/$name (log: StrykerOutput/$name/stryker.log)"
  # Stryker runs from the project under test when several test projects exercise it.
  (cd "src/$name" && dotnet stryker --config-file "$root/tools/mutation/$name.json" --output "$out" "$@") > "$out/stryker.log" 2>&1 \
    || { tail -n 40 "$out/stryker.log"; echo "Stryker failed for src/$name" >&2; exit 1; }
  grep -E "final mutation score|Time Elapsed" "$out/stryker.log" || true
  dotnet run tools/mutation/Summary.cs -- "$out/reports/mutation-report.json"
done
