#!/usr/bin/env bash
# deps.sh -- installs the Debian 12 packages dcm-processor needs, when missing. The lists are
# scripts/packages/*.txt (one package per line), shared with the Dockerfiles.
# As root it runs apt-get; otherwise it prints the one command to run and fails.
# Usage: scripts/deps.sh [build|test|run|docker]
#   build: what builds the programs; test: build + what the test suite adds + docker;
#   run: what native mode runs (runtime libraries, Redis, Orthanc, DICOM tools, CPython for
#        Python services, the programs and Python libraries the shipped services use);
#   docker: the Docker engine, Compose and debootstrap (Docker mode)
set -euo pipefail
lists="$(dirname "$0")/packages"

read_list() { grep -v '^[[:space:]]*\(#\|$\)' "$lists/$1.txt"; }

case "${1:-build}" in
  build) mapfile -t want < <(read_list build) ;;
  test) mapfile -t want < <(read_list build; read_list test; read_list python; read_list services; read_list docker) ;;
  run) mapfile -t want < <(read_list runtime; read_list stack; read_list python; read_list services) ;;
  docker) mapfile -t want < <(read_list docker) ;;
  *) echo "usage: scripts/deps.sh [build|test|run|docker]" >&2; exit 2 ;;
esac

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
