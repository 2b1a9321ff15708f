#!/usr/bin/env bash
# build.sh -- builds dcm-processor: with Docker Compose when a Docker engine answers and the
# stack's docker-compose.yml is present, natively otherwise (--native forces it).
# Native binaries land in build/bin/, the shared library in build/lib/.
set -euo pipefail
cd "$(dirname "$0")"

mode=auto
for arg in "$@"; do
  case "$arg" in
    --native) mode=native ;;
    --docker) mode=docker ;;
    -h|--help) echo "usage: build.sh [--native|--docker]"; exit 0 ;;
    *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

if [ "$mode" = auto ]; then
  if [ -f docker-compose.yml ] && docker info >/dev/null 2>&1; then mode=docker; else mode=native; fi
fi

if [ "$mode" = docker ]; then
  [ -f docker-compose.yml ] || { echo "build.sh: no docker-compose.yml here" >&2; exit 1; }
  echo "build.sh: a Docker engine answers: building the images with Docker Compose"
  # the base image the Dockerfiles start from: pulled, or made from Debian's archive
  scripts/base-image.sh
  compose build
  exit 0
fi

echo "build.sh: building natively into build/"
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDCMP_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "build.sh: done: $(ls build/bin | tr '\n' ' ')"
