#!/usr/bin/env bash
# Builds the documentation site (docs/: the guide's pages and the API reference generated from the XML docs) with docfx,
# warnings as errors (a broken page link, a missing include or an unresolved xref fails), into docs/_site; then checks
# every local link and #fragment of the result (tools/check_site.py) and renders every page in headless Chromium
# (tools/check_pages.py: text, highlighted code, table of contents, no script errors; about 2 minutes on 2 cores).
# Usage: bash tools/check-docs.sh [screenshot-folder]     Serve the result: dotnet docfx docs/docfx.json --serve
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore > /dev/null
rm -rf docs/_site docs/api/*.yml docs/api/.manifest
dotnet docfx metadata docs/docfx.json --warningsAsErrors > /tmp/docfx-metadata.log 2>&1 || { cat /tmp/docfx-metadata.log; exit 1; }
dotnet docfx build docs/docfx.json --warningsAsErrors > /tmp/docfx-build.log 2>&1 || { cat /tmp/docfx-build.log; exit 1; }
grep -E "^ +[0-9]+ (warning|error)" /tmp/docfx-build.log | tr -s ' ' | tr '\n' ' ' | sed 's/^/docfx: /; s/ $/\n/'
python3 tools/check_site.py docs/_site
python3 tools/check_pages.py docs/_site "$@"
