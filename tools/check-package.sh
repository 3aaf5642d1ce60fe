#!/usr/bin/env bash
# The real install path, as the README gives it. First, the README's example must be the consumer's code, line for line
# (tools/check_readme_example.py). Then the README's install commands run as they are, from the clone's root, with ~
# standing for an empty folder and NuGet's packages folder empty too (nothing cached from an earlier pack): they pack the
# packages into a folder feed, make a console project outside the clone, add the feed (plus the machine's configured
# package sources) and install DeepSharp. tests/PackageConsumer's two files then replace the project's Program.cs, and it
# builds and runs: it trains on a CSV file and on a folder of PNG images, and loads both models back.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tools/check_readme_example.py check tests/PackageConsumer/Program.cs README.md:install,csv,images \
  src/README.package.md:csv,images docs/articles/getting-started.md:install
version=$(dotnet msbuild src/Runtime/Runtime.csproj -getProperty:Version -nologo)
commands=$(python3 tools/check_readme_example.py print README.md install)
grep -q -- "--version $version\$" <<< "$commands" ||
  { echo "README.md's install commands do not install version $version (src/Directory.Build.props)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NUGET_PACKAGES="$tmp/packages"
(eval "set -e; ${commands//\~\//$tmp/}") > "$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "README.md's install commands failed (above)" >&2; exit 1; }
# Each installed package must be the very file packed above (a package of the same id and version elsewhere would differ).
for id in DeepSharp DeepSharp.Runtime DeepSharp.Layers DeepSharp.IO; do
  lower=$(echo "$id" | tr '[:upper:]' '[:lower:]')
  installed="$tmp/packages/$lower/$version/$lower.$version.nupkg.sha512"
  packed=$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read())
    .digest()).decode())' "$tmp/deepsharp-feed/$id.$version.nupkg")
  [ -f "$installed" ] && [ "$(cat "$installed")" = "$packed" ] ||
    { echo "the project did not install $id $version from the packed feed" >&2; exit 1; }
done
cp tests/PackageConsumer/Program.cs tests/PackageConsumer/SampleData.cs "$tmp/MyModel/"
cd "$tmp/MyModel"
dotnet build -c Release -nologo -v quiet -p:TreatWarningsAsErrors=true > build.log 2>&1 || { cat build.log; exit 1; }
dotnet bin/Release/net10.0/MyModel.dll
echo "package: DeepSharp $version installed by the README's commands from a folder feed, and trained ($(ls "$tmp/deepsharp-feed" |
  tr '\n' ' '))"
