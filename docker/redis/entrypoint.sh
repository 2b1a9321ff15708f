#!/usr/bin/env bash
# entrypoint.sh -- starts redis-server in the stack's Redis image: writes its configuration from
# the environment (REDIS_PSWD or REDIS_PASSWORD: the password, none when empty), with the
# append-only file on so that no accepted event or job is lost when the container restarts,
# hands /data to the redis user and runs the server as that user.
# The password goes into a file readable by redis only, never onto a command line.
set -euo pipefail

pass="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
conf=/run/dcmp-redis.conf
mkdir -p /data
chown redis:redis /data
(
  umask 077
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
)
chown redis:redis "$conf"
exec setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$conf"
