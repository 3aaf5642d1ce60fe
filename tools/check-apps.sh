#!/usr/bin/env bash
# Checks the training apps' command lines and charts after a Release build (.ci/run runs it; about 5 s):
# 1. --help lists every option with its default, and exits 0; a bad value (negative epochs, batch size 0, an unknown
#    device, model or activation, a missing data folder or text file) is one line on standard error and exit code 2.
# 2. The charts' text comes from the font shipped in examples/Shared/fonts: the main job runs with every font folder hidden
#    (a private mount namespace) and fontconfig pointed at an empty configuration; the app itself fails when a title, tick
#    value or axis label is missing from metrics.png (examples/Shared/Charts.cs), and metrics.svg must name the font; the
#    language model's perplexity chart the same way, from a one-epoch run on a small piece of the text.
# Usage: bash tools/check-apps.sh   (from anywhere inside the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
exe() { echo "examples/$1/bin/Release/net10.0/$1"; }
tmp=$(mktemp -d)

for app in Digits LeNet BatchNorm ResNet Language; do
  "$(exe "$app")" --help > "$tmp/help" || { echo "$app --help exited with $?" >&2; exit 1; }
  # Every option line but --help's and --version's shows a default.
  missing=$(grep -E '^  --' "$tmp/help" | grep -vE '^  --(help|version)' | grep -v '\[default:' || true)
  [ -z "$missing" ] || { echo "$app --help: options without a default:"; echo "$missing"; exit 1; } >&2
done
grep -q -- '--model <rnn|gru|lstm' "$tmp/help"
"$(exe LeNet)" --help | grep -q -- '--activation <sigmoid|relu>'
# ResNet's model has no choice of activation or pooling, so it does not offer the options.
if "$(exe ResNet)" --help | grep -q -- '--activation\|--pool'; then echo "ResNet --help offers --activation or --pool" >&2; exit 1; fi

bad() { # app, arguments...: must exit 2 with one line on standard error and nothing on standard output
  local rc=0
  "$(exe "$1")" "${@:2}" > "$tmp/out" 2> "$tmp/err" || rc=$?
  if [ "$rc" != 2 ] || [ "$(wc -l < "$tmp/err")" != 1 ] || [ -s "$tmp/out" ]; then
    echo "$* : expected exit code 2 and one line on standard error, got $rc and:" >&2; cat "$tmp/out" "$tmp/err" >&2; exit 1
  fi
}
bad Digits --epochs -3
bad Digits --batch-size 0
bad Digits --lr abc
bad Digits --device tpu:0
bad Digits --model rnn
bad Digits --no-such-option
bad LeNet --activation tanh
bad LeNet --data "$tmp/no-such-folder"
bad BatchNorm --pool min
bad ResNet --min-accuracy 2
bad Digits --optimizer lbfgs
bad BatchNorm --momentum 1
bad Language --model cnn
bad Language --steps 0
bad Language --text "$tmp/no-such-file.txt"
bad Language --max-perplexity 0.5
bad Language --prefix 1895
bad Language --sampling shuffled
bad Language --model transformer --heads 3
printf 'too short\n' > "$tmp/short.txt"
bad Language --text "$tmp/short.txt"
echo "command lines: --help lists every option with its default; 20 bad command lines were refused in one line"

printf '<?xml version="1.0"?>\n<fontconfig></fontconfig>\n' > "$tmp/fonts.conf"
if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then ns=(unshare -m)
elif unshare -rm true 2> /dev/null; then ns=(unshare -rm)
else ns=(); echo "WARNING: no mount namespace here: the no-fonts chart run sees the system's fonts" >&2
fi
hide='for d in /usr/share/fonts /usr/local/share/fonts "$HOME/.fonts" "$HOME/.local/share/fonts"; do
  if [ -d "$d" ]; then mount -t tmpfs none "$d"; fi; done
if [ -n "$(find /usr/share/fonts /usr/local/share/fonts -type f 2> /dev/null)" ]; then echo "fonts are still visible" >&2; exit 1; fi
exec "$@"'
[ ${#ns[@]} -gt 0 ] || hide='exec "$@"'
FONTCONFIG_FILE="$tmp/fonts.conf" "${ns[@]}" bash -c "$hide" _ "$(exe Digits)" --out "$tmp/run" > "$tmp/log" 2>&1 ||
  { cat "$tmp/log"; echo "the main job failed with the system's fonts hidden" >&2; exit 1; }
FONTCONFIG_FILE="$tmp/fonts.conf" "${ns[@]}" bash -c "$hide" _ "$(exe Language)" --model rnn --hidden 32 --subset 3000 \
  --epochs 1 --predict 5 --out "$tmp/lm" > "$tmp/log" 2>&1 ||
  { cat "$tmp/log"; echo "the language model failed with the system's fonts hidden" >&2; exit 1; }
for svg in "$tmp/run/metrics.svg" "$tmp/lm/metrics.svg"; do
  grep -q 'font-family="DejaVu Sans"' "$svg" || { echo "$svg does not use DejaVu Sans" >&2; exit 1; }
done
echo "charts: metrics.png and metrics.svg drawn with the shipped font, the system's fonts hidden"
rm -rf "$tmp"
