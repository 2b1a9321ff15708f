#!/usr/bin/env bash
# deps.sh -- installs the Debian 12 packages dcm-processor builds and tests with, when missing.
# As root it runs apt-get; otherwise it prints the one command to run and fails.
# Usage: scripts/deps.sh [build|test]   (test adds what the test suite needs)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libhiredis-dev libcjson-dev libmicrohttpd-dev
            libdcmtk-dev libcurl4-openssl-dev libyaml-dev)
test_pkgs=(redis-server clang-format clang libclang-rt-14-dev git orthanc dcmtk)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once when a package is not known.
if ! apt-cache show "${missing[0]}" >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
