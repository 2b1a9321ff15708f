# redis.sh -- sourced by the benchmark scripts (POSIX sh): bench_redis_start NAME makes a temp dir
# ($TMP), starts a redis-server without persistence on a free loopback port ($PORT, pid
# $REDIS_PID) in it, waits for its PING, and arranges that the exit ends it by PID and removes
# $TMP. NAME prefixes its messages.
bench_redis_cleanup() {
    if [ -n "${REDIS_PID:-}" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}

bench_redis_start() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/dcmp-bench-XXXXXX")
    REDIS_PID=
    trap bench_redis_cleanup EXIT
    trap 'exit 130' INT TERM
    PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
        --daemonize no >"$TMP/redis.log" 2>&1 </dev/null &
    REDIS_PID=$!
    i=0
    until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -ge 200 ]; then
            echo "$1: redis-server did not start:" >&2
            cat "$TMP/redis.log" >&2
            exit 1
        fi
        sleep 0.05
    done
}
