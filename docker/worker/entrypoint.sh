#!/usr/bin/env bash
# entrypoint.sh -- starts dcmp-worker, dcmp-scheduler or dcmp-dashboard in their images (each
# copies this file to /usr/local/bin/dcmp-entrypoint): as the user docker-compose.yml names
# (`user:`: BASEDIR's owner, DCMP_UID:DCMP_GID, which run.sh sets), with everything it creates
# owner-only (umask 077), after checking that the folders it writes into (DATA, LOGS) are
# usable by that user: a bind-mounted folder keeps the host's owner and mode, so a folder of
# another user is a clear error here, not a daemon that retries forever. Nothing is chowned.
# Usage (Dockerfile): ENTRYPOINT ["dcmp-entrypoint"]  CMD ["dcmp-worker"]
set -euo pipefail
umask 077

say() { printf 'dcmp-entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  say "error: no command given"
  exit 2
fi
for dir in "${DATA:-}" "${LOGS:-}"; do
  [ -n "$dir" ] || continue
  if ! mkdir -p -- "$dir" 2>/dev/null || [ ! -w "$dir" ] || [ ! -x "$dir" ]; then
    say "error: $dir ($(stat -c 'uid %u, mode %a' -- "$dir" 2>/dev/null || echo 'cannot be made')) is not usable by uid $(id -u): run the stack with run.sh (it runs the containers as BASEDIR's owner) or give BASEDIR to uid $(id -u)"
    exit 1
  fi
done
# a user with no home in the image (any uid may be given): a writable one
[ -n "${HOME:-}" ] && [ -w "${HOME:-/}" ] || export HOME=/tmp
exec "$@"
