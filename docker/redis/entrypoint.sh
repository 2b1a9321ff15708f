#!/usr/bin/env bash
# entrypoint.sh -- starts redis-server in the stack's Redis image, as the user docker-compose.yml
# names (BASEDIR's owner, so the append-only file native mode wrote in BASEDIR/redis is its own
# too): writes its configuration from the environment (REDIS_PSWD or REDIS_PASSWORD: the
# password, none when empty) into an owner-only file, with the append-only file on so that no
# accepted event or job is lost when the container restarts. Everything it creates is
# owner-only (umask 077). The password goes into that file, never onto a command line.
set -euo pipefail
umask 077

pass="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
if [ ! -w /data ] || [ ! -x /data ]; then
  echo "dcmp-redis: error: /data (BASEDIR/redis: $(stat -c 'uid %u, mode %a' /data)) is not usable by uid $(id -u): run the stack with run.sh (it runs the containers as BASEDIR's owner)" >&2
  exit 1
fi
conf="$(mktemp /tmp/dcmp-redis.XXXXXX)"
{
  echo "# written by dcmp-redis at every start"
  echo "bind 0.0.0.0"
  echo "port 6379"
  # the stack's network only: the host publishes the port on loopback (BIND_ADDRESS)
  echo "protected-mode no"
  echo "dir /data"
  echo "appendonly yes"
  echo "appendfsync everysec"
  if [ -n "$pass" ]; then
    esc="${pass//\\/\\\\}"
    printf 'requirepass "%s"\n' "${esc//\"/\\\"}"
  fi
} > "$conf"
exec redis-server "$conf"
