#!/usr/bin/env bash
# Prints the base URI of the Debian archive this machine's apt is configured with (e.g. the one serving its release's
# main suite), so scripts that fetch packages outside apt's own installs use the machine's configured package sources
# instead of naming a host. Exits non-zero when apt names no Debian archive.
set -euo pipefail
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
uris=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null | sort -u)
# The archive that serves this release's own suite (not the security one, which has no other suites).
uri=$(awk -v c="$codename" '$2 == c { print $1; exit }' <<< "$uris")
[ -n "$uri" ] || uri=$(awk '$2 !~ /-security$/ { print $1; exit }' <<< "$uris")
[ -n "$uri" ] || { echo "apt names no Debian archive (see /etc/apt/sources.list and sources.list.d)" >&2; exit 1; }
echo "${uri%/}"
