#!/usr/bin/env bash
# base-image.sh -- makes the base image the Dockerfiles start FROM (debian:bookworm-slim) when the
# Docker engine does not have it, without an image registry: debootstrap a minimal Debian 12 from
# the mirror apt already uses, slim it as Debian's official -slim images are (no docs, man pages,
# locales or apt caches, and dpkg/apt told to keep it so), then `docker import` it.
# Does nothing when the image exists, and pulls it when a registry answers (a site with registry
# access never needs the rest).
# Needs root (debootstrap) and a running Docker engine; installs debootstrap with apt when
# missing (as root) or prints the apt-get command.
# Usage: scripts/base-image.sh [IMAGE]      IMAGE defaults to debian:bookworm-slim
#   env DEBIAN_MIRROR=URL   use this mirror instead of the one apt uses
set -euo pipefail

image="${1:-debian:bookworm-slim}"
suite=bookworm

say() { printf 'base-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "no docker client in PATH (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer 'docker info' (start dockerd)"
if docker image inspect "$image" >/dev/null 2>&1; then
  say "$image exists: nothing to do"
  exit 0
fi
# A site with registry access just pulls it (without one this fails within a second).
if timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
  say "$image pulled from the registry"
  exit 0
fi
case "$image" in
  *bookworm*) ;;
  *) die "image '$image': this script only makes Debian 12 (bookworm) images" ;;
esac
[ "$(id -u)" -eq 0 ] || die "$image is missing and debootstrap needs root: run this script as root"

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap (apt-get install -y debootstrap)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
    die "cannot install debootstrap; run: apt-get update && apt-get install -y debootstrap"
fi

# The mirror apt already uses (not the security archive), unless DEBIAN_MIRROR says otherwise.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
    grep -v -- '-security' | grep -m1 -E '^https?://' || true)"
fi
[ -n "$mirror" ] || mirror="http://deb.debian.org/debian/"
security="$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
  grep -m1 -E '^https?://.*-security' || true)"
[ -n "$security" ] || security="http://deb.debian.org/debian-security/"
say "building $image from $mirror with debootstrap (about a minute)"

work="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-base-image.XXXXXX")"
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap $suite from $mirror failed (log above)"
fi

say "slimming the root file system"
# Later installs skip documentation too (as the official -slim images' dpkg.cfg.d/docker).
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
# Keep images slim: no documentation, man pages or translations (copyright files stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
# apt deletes downloaded packages and its binary caches after every install, so each
# `apt-get install` layer keeps no cache (as the official images' apt.conf.d/docker-clean).
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes" <<'EOF'
Acquire::GzipIndexes "true";
EOF
# The archives the image's apt uses: the host's mirror and security archive.
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"* "$rootfs/usr/share/groff/"* \
  "$rootfs/usr/share/lintian/"* "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"* \
  "$rootfs/var/cache/debconf/"*-old "$rootfs/var/log/"* "$rootfs/tmp/"*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
  -exec rm -rf {} +
: >"$rootfs/etc/machine-id"

say "importing as $image"
tar --numeric-owner -C "$rootfs" -c . |
  docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
docker image ls "$image" >&2
