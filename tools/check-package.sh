#!/usr/bin/env bash
# The real install path: packs the packages (tools/pack.sh) into a folder feed, copies tests/PackageConsumer out of the
# repository (so none of its build settings apply), restores it from that feed plus the machine's configured package
# sources into an empty packages folder (nothing cached from an earlier pack), and runs it: it trains on a CSV file and
# on a folder of PNG images, and loads both models back. First, the README's example must be the consumer's, line for line.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 tools/check_readme_example.py tests/PackageConsumer/Program.cs README.md src/README.package.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash tools/pack.sh "$tmp/feed" > /dev/null
version=$(dotnet msbuild src/Runtime/Runtime.csproj -getProperty:Version -nologo)
mkdir "$tmp/consumer"
cp tests/PackageConsumer/*.cs tests/PackageConsumer/PackageConsumer.csproj "$tmp/consumer/"
cat > "$tmp/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="deepsharp-packed" value="$tmp/feed" />
  </packageSources>
</configuration>
XML
cd "$tmp/consumer"
dotnet restore -p:DeepSharpVersion="$version" --packages "$tmp/packages" -v quiet > restore.log 2>&1 || { cat restore.log; exit 1; }
# Each installed package must be the very file packed above (a package of the same id and version elsewhere would differ).
for id in DeepSharp DeepSharp.Runtime DeepSharp.Layers DeepSharp.IO; do
  lower=$(echo "$id" | tr '[:upper:]' '[:lower:]')
  installed="$tmp/packages/$lower/$version/$lower.$version.nupkg.sha512"
  packed=$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read())
    .digest()).decode())' "$tmp/feed/$id.$version.nupkg")
  [ -f "$installed" ] && [ "$(cat "$installed")" = "$packed" ] ||
    { echo "the consumer did not install $id $version from the packed feed" >&2; exit 1; }
done
dotnet build -c Release --no-restore -p:DeepSharpVersion="$version" -nologo -v quiet > build.log 2>&1 || { cat build.log; exit 1; }
dotnet bin/Release/net10.0/PackageConsumer.dll
echo "package: DeepSharp $version installed from a folder feed and trained ($(ls "$tmp/feed" | tr '\n' ' '))"
