#!/usr/bin/env python3
"""Reads `cuobjdump -sass` output on stdin; prints the instruction count and, for each loop (a backward branch), its size
and most common instructions, innermost loops first. Used by tools/sass_stats.sh."""
import collections, re, sys

ins = []
for line in sys.stdin:
    m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;", line)
    if m:
        ins.append((int(m.group(1), 16), m.group(2)))

def op(text):
    return re.sub(r"^@!?U?P[0-9T]+\s+", "", text).split()[0]

print(f"   {len(ins)} instructions")
loops = []
for at, text in ins:
    m = re.search(r"BRA\s+.*?0x([0-9a-f]+)", text)
    if m and int(m.group(1), 16) < at:
        loops.append((int(m.group(1), 16), at))
for lo, hi in sorted(loops, key=lambda l: l[1] - l[0]):
    body = collections.Counter(op(t) for a, t in ins if lo <= a <= hi)
    n = sum(body.values())
    inner = [(l, h) for l, h in loops if lo <= l and h <= hi and (l, h) != (lo, hi)]
    own = sum(1 for a, _ in ins if lo <= a <= hi and not any(l <= a <= h for l, h in inner))
    nested = f" ({own} outside its inner loops)" if inner else ""
    print(f"   loop {lo:#06x}-{hi:#06x}: {n} instructions{nested}, FFMA {100 * body['FFMA'] / n:.0f} %: "
          + ", ".join(f"{k} {v}" for k, v in body.most_common(10)))
