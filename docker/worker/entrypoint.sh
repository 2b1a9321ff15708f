#!/usr/bin/env bash
# entrypoint.sh -- starts dcmp-worker or dcmp-scheduler in their images (both copy this file to
# /usr/local/bin/dcmp-entrypoint): makes the folders the daemon writes into (DATA, LOGS) exist and
# belong to the user it runs as, then drops root and runs the command.
# Bind-mounted host folders keep the host's owner, so a folder made by root on the host is handed
# to the daemon's user (chown -R, once: later starts find it owned already). Set DCMP_UID and
# DCMP_GID to the host user that owns BASEDIR to run as that user and change no owner at all;
# DCMP_UID=0 keeps root (for services whose script.sh installs packages).
# A container started with --user (not root) runs the command as it is.
# Usage (Dockerfile): ENTRYPOINT ["dcmp-entrypoint"]  CMD ["dcmp-worker"]
set -euo pipefail

say() { printf 'dcmp-entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  say "error: no command given"
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  exec "$@"
fi

uid="${DCMP_UID:-1000}"
gid="${DCMP_GID:-$uid}"
case "$uid" in '' | *[!0-9]*) say "error: DCMP_UID='$uid': expected a numeric user id"; exit 2 ;; esac
case "$gid" in '' | *[!0-9]*) say "error: DCMP_GID='$gid': expected a numeric group id"; exit 2 ;; esac

for dir in "${DATA:-}" "${LOGS:-}"; do
  [ -n "$dir" ] || continue
  if ! mkdir -p -- "$dir"; then
    say "error: cannot create $dir"
    exit 1
  fi
  if [ "$(stat -c %u -- "$dir")" != "$uid" ]; then
    say "$dir belongs to uid $(stat -c %u -- "$dir"): chown -R $uid:$gid (set DCMP_UID/DCMP_GID to the owner to avoid this)"
    chown -R -- "$uid:$gid" "$dir"
  fi
done

if [ "$uid" -eq 0 ]; then
  exec "$@"
fi
export HOME="${HOME:-/tmp}"
[ "$HOME" != /root ] || export HOME=/tmp
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
