#!/usr/bin/env bash
# Fails, listing file:line:length, for every line of hand-written source longer than 140 characters (max_line_length in
# .editorconfig). Counts characters, not bytes (UTF-8: "×", "ᵀ" and "≤" are one each). Checks the files git tracks:
# *.cs, *.md, *.sh, *.py, *.csproj, *.props and .ci/run. The generated kernels (*.g.cs, written by tools/gen_gemm.py)
# and data (PublicAPI.*.txt, tarballs, checkpoints, CSVs) are not checked; in Markdown, neither are table rows (a row is
# one line), fenced blocks (program output) and lines with one unbreakable token over 100 characters (an xref's uid).
# Usage: bash tools/check-lines.sh [max]   (from anywhere inside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
max="${1:-140}"
git ls-files -z -- '*.cs' '*.md' '*.sh' '*.py' '*.csproj' '*.props' '.ci/run' ':!:*.g.cs' |
  python3 -c '
import sys
limit = int(sys.argv[1])
long = 0
for path in sys.stdin.buffer.read().decode("utf-8").split("\0"):
    if not path:
        continue
    markdown, fenced = path.endswith(".md"), False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            n = len(line.rstrip("\r\n"))
            if markdown and line.lstrip().startswith("```"):
                fenced = not fenced
            if markdown and (fenced or line.lstrip().startswith("|") or max(map(len, line.split()), default=0) > 100):
                continue
            if n > limit:
                print(f"{path}:{number}: {n} characters")
                long += 1
if long:
    print(f"{long} line(s) longer than {limit} characters: wrap them (see CONTRIBUTING.md).", file=sys.stderr)
    sys.exit(1)
' "$max"
