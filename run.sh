#!/usr/bin/env bash
# run.sh -- brings the whole dcm-processor stack up (Redis, Orthanc, the scheduler, N workers, the
# dashboard),
# stops it, or shows it. Docker Compose when a Docker engine answers and docker-compose.yml is
# here; native processes otherwise (--docker/--native force one). See docs/stack.md.
#
# Usage: run.sh [up] [--docker|--native] [--scale worker=N] [--env FILE]
#        run.sh down [--docker|--native] [--env FILE]
#        run.sh status [--docker|--native] [--env FILE]
#   up (default)      start what is not running, wait until every part is healthy, print the
#                     URLs; safe to run again. On a running stack --scale only adds or removes
#                     workers; without --scale a running stack keeps its worker count (else 1).
#   down              stop what run.sh started (the mode it used is kept in BASEDIR/run/mode)
#   status            one line per part; exit 0 when every part runs, 3 otherwise
#   --env FILE        the settings (default: $DCMP_ENV when set, else .env beside run.sh);
#                     variables in the environment override the file (two stacks side by side)
# Native mode: daemons from $DCMP_BIN (default build/bin, built with ./build.sh --native when
# missing there), logs in BASEDIR/logs, pid files in BASEDIR/run, every port from the settings,
# everything on loopback (BIND_ADDRESS), Orthanc's config generated under BASEDIR/orthanc.
# Environment: DCMP_BIN (binaries), DCMP_START_TIMEOUT (seconds per part, default 60).
# Exit status: 0 done; 1 a part failed (its name and log are printed) or a missing program;
#              2 usage; 3 (status) not every part runs.
set -euo pipefail
DCMP_PROG=run.sh
. "$(dirname "${BASH_SOURCE[0]}")/scripts/native/common.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

action=up mode=auto scale="" envfile=""
while [ $# -gt 0 ]; do
  case "$1" in
    up|down|status) action="$1" ;;
    --docker) mode=docker ;;
    --native) mode=native ;;
    --scale|--scale=*)
      if [ "$1" = --scale ]; then
        [ $# -ge 2 ] || dcmp_die "--scale needs worker=N" 2
        val="$2"; shift
      else
        val="${1#--scale=}"
      fi
      [[ "$val" =~ ^worker=([0-9]+)$ ]] || dcmp_die "--scale $val: only worker=N is supported" 2
      scale="${BASH_REMATCH[1]}"
      [ "$scale" -le 64 ] || dcmp_die "--scale worker=$scale: at most 64 workers" 2
      ;;
    --env)
      [ $# -ge 2 ] || dcmp_die "--env needs a file" 2
      envfile="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -z "$envfile" ] || [ -r "$envfile" ] || dcmp_die "--env $envfile: cannot read it" 2

# Native mode talks to its own Orthanc; a REST URL given in the environment still wins.
rest_url_from_env="${ORTHANC_REST_URL+x}"
dcmp_settings "$envfile"
cd "$DCMP_ROOT"

compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

docker_available() { [ -f "$DCMP_ROOT/docker-compose.yml" ] && timeout 10 docker info >/dev/null 2>&1; }

# The mode a stack of this BASEDIR runs in (up wrote it), else none.
running_mode="$(cat "$DCMP_RUN/mode" 2>/dev/null || true)"
case "$running_mode" in docker|native) ;; *) running_mode="" ;; esac

why=""
if [ "$mode" = auto ] && [ -z "$running_mode" ] && [ "$action" != up ]; then
  # nothing of this BASEDIR runs (up writes BASEDIR/run/mode, down removes it)
  dcmp_say "no stack runs in $BASEDIR (no $DCMP_RUN/mode)"
  [ "$action" = status ] && exit 3
  exit 0
fi
if [ "$mode" = auto ]; then
  if [ -n "$running_mode" ]; then
    # the stack of this BASEDIR keeps its mode: --scale on a native stack adds native workers
    mode="$running_mode" why="the stack in $BASEDIR runs so"
  elif docker_available; then
    mode=docker why="a Docker engine answers and docker-compose.yml is here"
  else
    mode=native why="no Docker engine answers, or no docker-compose.yml"
  fi
elif [ "$action" = up ] && [ -n "$running_mode" ] && [ "$running_mode" != "$mode" ]; then
  dcmp_die "the stack in $BASEDIR runs in $running_mode mode: run.sh down first to switch to $mode"
else
  why="--$mode"
fi
[ "$action" != up ] || dcmp_say "$mode mode ($why)"
# the anonymizer's key and the logins must be in the daemons' environment from their start;
# new logins only for a stack that does not run yet (its running parts know none)
if [ "$action" = up ]; then
  dcmp_secret_ensure
  dcmp_logins_ensure "$([ -n "$running_mode" ] || echo 1)"
fi

timeout_s="${DCMP_START_TIMEOUT:-60}"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || dcmp_die "DCMP_START_TIMEOUT=$timeout_s: not a number of seconds" 2

# ---------------------------------------------------------------------------------------------
# BASEDIR: owner-only, one owner
# ---------------------------------------------------------------------------------------------

# owner_mode PATH: "uid U (NAME), mode M" of PATH.
owner_mode() { stat -c 'uid %u (%U), mode %a' -- "$1" 2>/dev/null || echo "unreadable"; }

# basedir_check: BASEDIR (made owner-only when new) and everything in it must belong to one
# user, BASEDIR's owner, who runs the daemons (natively the caller, so the caller must be that
# user or root; with Docker every container runs as it), and its folders must be usable by that
# user; otherwise run.sh stops here naming the entry, its owner and mode and the fix, before
# anything starts. Whatever others can read under BASEDIR is made owner-only (it holds patient
# data and secrets), said when it changed anything. Both in one walk of the tree (Orthanc's
# storage may hold millions of files): entries made owner-only before a foreign one stops the
# walk stay so, which is harmless. Sets basedir_uid and basedir_gid.
basedir_check() {
  local me bad n fix walk
  me="$(id -u)"
  mkdir -p -- "$BASEDIR" || dcmp_die "cannot make BASEDIR $BASEDIR"
  basedir_uid="$(stat -c %u -- "$BASEDIR")" basedir_gid="$(stat -c %g -- "$BASEDIR")"
  fix="as root: chown -R $basedir_uid:$basedir_gid $BASEDIR && chmod -R u+rwX,go-rwx $BASEDIR"
  if [ "$me" -ne 0 ] && [ "$me" != "$basedir_uid" ]; then
    dcmp_die "BASEDIR $BASEDIR: $(owner_mode "$BASEDIR"), not yours (uid $me): the stack's daemons run as its owner. Run run.sh as that user, or give the folder to you: as root: chown -R $me:$(id -g) $BASEDIR"
  fi
  if [ "$mode" = native ] && [ "$me" != "$basedir_uid" ]; then
    dcmp_die "BASEDIR $BASEDIR: $(owner_mode "$BASEDIR"); native daemons run as you (uid $me) and would make files its owner cannot read: run run.sh as that user (e.g. sudo -u '#$basedir_uid' ./run.sh --native), or with Docker (the containers run as the owner)"
  fi
  # one line "bad PATH" for the first foreign entry (then the walk stops), "open" for each
  # entry made owner-only; find's own errors (a folder it cannot read) after them
  walk="$(find "$BASEDIR" \( ! -uid "$basedir_uid" -o \( -type d ! -perm -u=rwx \) \) \
    -printf 'bad %p\n' -quit -o -perm /077 ! -type l -printf 'open\n' -exec chmod go-rwx -- {} + 2>&1)" || true
  bad="$(grep -v -m 1 '^open$' <<<"$walk" || true)"
  if [ -n "$bad" ]; then
    [ "${bad#bad }" != "$bad" ] ||
      dcmp_die "BASEDIR $BASEDIR: cannot read all of it ($bad): the stack's daemons need every folder in it. Fix: $fix"
    bad="${bad#bad }"
    dcmp_die "$bad: $(owner_mode "$bad"); the stack's daemons run as BASEDIR's owner (uid $basedir_uid) and need to own every file and folder in it (rwx on folders). Fix: $fix"
  fi
  n="$(grep -c '^open$' <<<"$walk" || true)"
  [ "$n" -eq 0 ] ||
    dcmp_say "made $n file(s) and folder(s) under $BASEDIR owner-only (they were readable by others)"
}

# ---------------------------------------------------------------------------------------------
# Docker Compose
# ---------------------------------------------------------------------------------------------

# docker_show_failed: for every container of the stack that is neither healthy nor running,
# its state and the last lines of its log (what `docker logs` would show).
docker_show_failed() {
  local svc id state
  for svc in redis_server orthanc scheduler worker dashboard; do
    while read -r id; do
      [ -n "$id" ] || continue
      state="$(docker inspect -f '{{.State.Status}}{{if .State.Health}} {{.State.Health.Status}}{{end}}, restarted {{.RestartCount}} time(s)' "$id" 2>/dev/null || echo gone)"
      case "$state" in "running healthy, restarted 0"*|"running, restarted 0"*) continue ;; esac
      echo "run.sh: service $svc: container ${id:0:12} is $state; the end of its log:" >&2
      docker logs --tail 15 "$id" 2>&1 | sed 's/^/    /' >&2
    done < <(compose ps -q "$svc" 2>/dev/null)
  done
}

docker_wait() {
  local svc id state deadline=$((SECONDS + timeout_s)) pending
  while :; do
    pending=""
    for svc in redis_server orthanc scheduler worker dashboard; do
      mapfile -t ids < <(compose ps -q "$svc" 2>/dev/null)
      [ ${#ids[@]} -gt 0 ] || { pending="$svc (no container)"; continue; }
      for id in "${ids[@]}"; do
        state="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}} {{.RestartCount}}' "$id" 2>/dev/null || echo "gone 0")"
        # a container that keeps restarting will not get better by waiting
        [ "${state#* }" -lt 3 ] || [ "${state% *}" = healthy ] || state="restarting 0"
        state="${state% *}"
        case "$state" in
          healthy|running) ;;
          exited|dead|gone|unhealthy|restarting)
            docker_show_failed
            dcmp_die "service $svc: container ${id:0:12} is $state (its log above; more: docker logs ${id:0:12})" ;;
          *) pending="$svc ($state)" ;;
        esac
      done
    done
    [ -z "$pending" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      docker_show_failed
      dcmp_die "service $pending not healthy after ${timeout_s}s (logs above; more: docker compose logs)"
    fi
    sleep 1
  done
}

docker_main() {
  [ -f "$DCMP_ROOT/docker-compose.yml" ] || dcmp_die "no docker-compose.yml in $DCMP_ROOT (use --native)"
  command -v docker >/dev/null || dcmp_die "docker is not installed (use --native)"
  local args
  case "$action" in
    up)
      local var want
      # docker-compose.yml mounts the BASEDIR layout; other folders cannot reach the containers
      for var in REGISTRY MODULES DATA LOGS; do
        want="$BASEDIR/$(echo "$var" | tr '[:upper:]' '[:lower:]')"
        [ "${!var}" = "$want" ] ||
          dcmp_die "$var=${!var}: with Docker it must be $want (the stack mounts BASEDIR's folders)"
      done
      [ "$SETTINGS" = "$BASEDIR/settings.json" ] ||
        dcmp_die "SETTINGS=$SETTINGS: with Docker it must be $BASEDIR/settings.json"
      basedir_check
      # every container runs as BASEDIR's owner: its files are owner-only
      if [ -z "${DCMP_UID:-}" ]; then
        export DCMP_UID="$basedir_uid" DCMP_GID="$basedir_gid"
      elif [ "$DCMP_UID" != "$basedir_uid" ]; then
        dcmp_die "DCMP_UID=$DCMP_UID: the containers would run as uid $DCMP_UID, but BASEDIR $BASEDIR belongs to uid $basedir_uid and is owner-only: leave DCMP_UID unset (they then run as its owner) or give BASEDIR to that user (chown -R $DCMP_UID:${DCMP_GID:-$DCMP_UID} $BASEDIR)"
      fi
      export DCMP_GID="${DCMP_GID:-$DCMP_UID}"
      [ "$DCMP_UID" != 0 ] ||
        dcmp_say "the containers run as root (uid 0), the owner of $BASEDIR: give BASEDIR to a service user (chown -R USER: $BASEDIR) to run them unprivileged"
      # every bind mount's source made here (Docker would make a missing one root's)
      mkdir -p "$REGISTRY" "$MODULES" "$MODULES/.venvs" "$DATA" "$LOGS" "$DCMP_RUN" "$BASEDIR/redis" "$BASEDIR/orthanc"
      dcmp_basedir_own flat "$REGISTRY" "$MODULES" "$MODULES/.venvs" "$DATA" "$LOGS" "$DCMP_RUN" "$BASEDIR/redis" "$BASEDIR/orthanc"
      "$DCMP_ROOT/scripts/base-image.sh" || dcmp_die "no base image to build from (above)"
      # a stack not running yet needs all its published ports free, checked before anything
      if [ -z "$(compose ps -q 2>/dev/null)" ]; then
        dcmp_ports_free "REDIS_PORT=$REDIS_PORT ORTHANC_HTTP_PORT=$ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT=$ORTHANC_DICOM_PORT SCHEDULER_PORT=$SCHEDULER_PORT DASHBOARD_PORT=$DASHBOARD_PORT"
      fi
      local current
      current="$(compose ps -q worker 2>/dev/null | wc -l)"
      if [ -z "$scale" ] && [ "$current" -gt 0 ]; then
        scale="$current" # a running stack keeps its worker count
      fi
      if [ -n "$scale" ] && [ -n "$(compose ps -q scheduler 2>/dev/null)" ]; then
        args=(up -d --no-recreate --scale "worker=$scale")
      else
        args=(up -d --build)
        [ -n "$scale" ] && args+=(--scale "worker=$scale")
      fi
      if ! compose "${args[@]}"; then
        docker_show_failed
        dcmp_die "docker compose ${args[*]} failed (above)"
      fi
      echo docker > "$DCMP_RUN/mode"
      dcmp_basedir_own flat "$DCMP_RUN/mode"
      docker_wait
      first_init
      print_urls
      ;;
    down)
      compose down
      [ "$running_mode" != docker ] || rm -f "$DCMP_RUN/mode"
      ;;
    status)
      compose ps
      local svc
      for svc in redis_server orthanc scheduler worker dashboard; do
        [ -n "$(compose ps -q "$svc" 2>/dev/null)" ] || exit 3
      done
      ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Native processes
# ---------------------------------------------------------------------------------------------

bin="${DCMP_BIN:-$DCMP_ROOT/build/bin}"
redis_bin="$(command -v redis-server || echo /usr/bin/redis-server)"
orthanc_bin="$(command -v Orthanc || echo /usr/sbin/Orthanc)"
[ -x "$orthanc_bin" ] || orthanc_bin=/usr/sbin/Orthanc
logs="$BASEDIR/logs"

# A loopback address the clients use to reach what listens on BIND_ADDRESS.
case "$BIND_ADDRESS" in 0.0.0.0|'') local_addr=127.0.0.1 ;; *) local_addr="$BIND_ADDRESS" ;; esac
# the dashboard without a login listens on loopback whatever BIND_ADDRESS says
dashboard_addr="$local_addr"
[ -n "${DASHBOARD_USER:-}" ] || dashboard_addr=127.0.0.1

native_env() {
  export REDIS_HOST="$local_addr"
  # the dashboard listens on BIND_ADDRESS only with a login (else it keeps to loopback)
  export DASHBOARD_BIND="${DASHBOARD_BIND:-$BIND_ADDRESS}"
  export SCHEDULER_BIND="$BIND_ADDRESS"
  export SCHEDULER_HOST="$local_addr"
  [ -n "$rest_url_from_env" ] || export ORTHANC_REST_URL="http://127.0.0.1:$ORTHANC_HTTP_PORT"
  export STABLE_AGE="${STABLE_AGE:-5}"
  export DCMP_ENV="$DCMP_ENVFILE"
  # redis-cli reads the password from here (not from its command line, which ps shows)
  if [ -n "${REDIS_PSWD:-${REDIS_PASSWORD:-}}" ]; then
    export REDISCLI_AUTH="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
  fi
}

rcli() { redis-cli -h "$local_addr" -p "$REDIS_PORT" --no-auth-warning "$@"; }

# the login goes to curl on its stdin: a command line is visible to every local user (ps)
orthanc_get() {
  dcmp_curl_login "${ORTHANC_REST_USERNAME:-}" "${ORTHANC_REST_PASSWORD:-}" |
    curl -K - -s -f -m 5 "http://127.0.0.1:$ORTHANC_HTTP_PORT$1"
}

need_programs() {
  local missing=() p
  for p in redis-server redis-cli Orthanc curl; do
    command -v "$p" >/dev/null || { [ "$p" = Orthanc ] && [ -x /usr/sbin/Orthanc ]; } || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    dcmp_say "missing programs (${missing[*]}): installing the Debian packages of native mode"
    "$DCMP_ROOT/scripts/deps.sh" run
  else
    dcmp_die "missing programs (${missing[*]}); run as root:
  apt-get update && apt-get install -y redis-server redis-tools orthanc dcmtk curl"
  fi
  redis_bin="$(command -v redis-server)"
  orthanc_bin=/usr/sbin/Orthanc
}

need_binaries() {
  local b missing=()
  for b in dcmp-scheduler dcmp-dicom dcmp-worker dcmp-executor dcmp-dashboard; do
    [ -x "$bin/$b" ] || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ -z "${DCMP_BIN:-}" ] || dcmp_die "DCMP_BIN=$DCMP_BIN: ${missing[*]} not there"
  dcmp_say "${missing[*]} not built in $bin: building with ./build.sh --native"
  "$DCMP_ROOT/build.sh" --native
  for b in dcmp-scheduler dcmp-dicom dcmp-worker dcmp-executor dcmp-dashboard; do
    [ -x "$bin/$b" ] || dcmp_die "$bin/$b: still missing after ./build.sh --native"
  done
}

# spawn NAME PIDFILE LOG CMD...: starts CMD in a session of its own, detached from our
# stdin/stdout/stderr; the pid file gets the pid of CMD itself (bash execs it).
spawn() {
  local name="$1" pidfile="$2" log="$3" i
  shift 3
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner bash
  setsid nohup bash -c 'echo "$$" > "$0"; exec "$@"' "$pidfile" "$@" >> "$log" 2>&1 < /dev/null &
  for ((i = 0; i < 50; i++)); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  dcmp_die "$name did not start; see $log"
}

# wait_part NAME PIDFILE EXE LOG CHECK...: polls CHECK until it succeeds; fails naming the part
# and its log when the process exits or the time runs out.
wait_part() {
  local name="$1" pidfile="$2" exe="$3" log="$4" deadline=$((SECONDS + timeout_s)) pid
  shift 4
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! pid="$(dcmp_pid_alive "$pidfile" "$exe")"; then
      # exe may still be the bash that execs it: give it a moment
      sleep 0.3
      if ! dcmp_pid_alive "$pidfile" "$exe" >/dev/null; then
        echo "run.sh: $name exited during its start; the end of its log $log:" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
      fi
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "run.sh: $name (pid ${pid:-?}) not healthy after ${timeout_s}s; the end of its log $log:" >&2
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

redis_ok() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
orthanc_ok() { orthanc_get /system >/dev/null; }
scheduler_ok() { curl -s -f -m 5 "http://$local_addr:$SCHEDULER_PORT/health" >/dev/null; }
dashboard_ok() { curl -s -f -m 5 "http://$dashboard_addr:$DASHBOARD_PORT/health" >/dev/null; }
# worker_ok N PID: registered in Redis under its name with its pid, heartbeat fresh
worker_ok() {
  [ "$(rcli hget "dcmp:worker:worker-$1" pid 2>/dev/null)" = "$2" ] &&
    [ "$(rcli exists "dcmp:worker:worker-$1:hb" 2>/dev/null)" = 1 ]
}

redis_conf_str() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

start_redis() {
  local pidfile="$DCMP_RUN/redis.pid" log="$logs/redis.log" conf="$BASEDIR/redis/redis.conf"
  local pass="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
  if dcmp_pid_alive "$pidfile" "$redis_bin" >/dev/null; then
    redis_ok || dcmp_die "redis (pid $(cat "$pidfile")) runs but does not answer PING on $local_addr:$REDIS_PORT; see $log"
    return 0
  fi
  mkdir -p "$BASEDIR/redis"
  (
    umask 077
    {
      echo "# written by run.sh at every start of Redis: edit .env, not this file"
      echo "bind $BIND_ADDRESS"
      echo "port $REDIS_PORT"
      echo "dir $(redis_conf_str "$BASEDIR/redis")"
      echo "daemonize no"
      echo "protected-mode yes"
      echo "appendonly yes"
      echo "appendfsync everysec"
      if [ -n "$pass" ]; then echo "requirepass $(redis_conf_str "$pass")"; fi
    } > "$conf"
  )
  spawn redis "$pidfile" "$log" "$redis_bin" "$conf"
  wait_part redis "$pidfile" "$redis_bin" "$log" redis_ok
  dcmp_say "redis up (pid $(cat "$pidfile"), $local_addr:$REDIS_PORT)"
}

start_orthanc() {
  local pidfile="$DCMP_RUN/orthanc.pid" log="$logs/orthanc.log" dir="$BASEDIR/orthanc"
  if dcmp_pid_alive "$pidfile" "$orthanc_bin" >/dev/null; then
    orthanc_ok || dcmp_die "orthanc (pid $(cat "$pidfile")) runs but GET /system fails on port $ORTHANC_HTTP_PORT; see $log"
    return 0
  fi
  "$DCMP_ROOT/scripts/native/orthanc-config.sh" "$dir"
  spawn orthanc "$pidfile" "$logs/orthanc.out" "$orthanc_bin" "--logfile=$log" "$dir/orthanc.json"
  wait_part orthanc "$pidfile" "$orthanc_bin" "$log" orthanc_ok
  dcmp_say "orthanc up (pid $(cat "$pidfile"), HTTP $ORTHANC_HTTP_PORT, DICOM $ORTHANC_AET@$ORTHANC_DICOM_PORT)"
}

start_scheduler() {
  local pidfile="$DCMP_RUN/scheduler.pid" log="$logs/scheduler.log"
  if dcmp_pid_alive "$pidfile" "$bin/dcmp-scheduler" >/dev/null; then
    scheduler_ok || dcmp_die "scheduler (pid $(cat "$pidfile")) runs but GET /health fails; see $log"
    return 0
  fi
  spawn scheduler "$pidfile" "$log" "$bin/dcmp-scheduler"
  wait_part scheduler "$pidfile" "$bin/dcmp-scheduler" "$log" scheduler_ok
  dcmp_say "scheduler up (pid $(cat "$pidfile"), $local_addr:$SCHEDULER_PORT)"
}

start_dashboard() {
  local pidfile="$DCMP_RUN/dashboard.pid" log="$logs/dashboard.log"
  if dcmp_pid_alive "$pidfile" "$bin/dcmp-dashboard" >/dev/null; then
    dashboard_ok || dcmp_die "dashboard (pid $(cat "$pidfile")) runs but GET /health fails; see $log"
    return 0
  fi
  spawn dashboard "$pidfile" "$log" "$bin/dcmp-dashboard"
  wait_part dashboard "$pidfile" "$bin/dcmp-dashboard" "$log" dashboard_ok
  dcmp_say "dashboard up (pid $(cat "$pidfile"), http://$dashboard_addr:$DASHBOARD_PORT/)"
}

# The number of the highest worker that runs (0: none).
workers_running() {
  local f n top=0
  for f in "$DCMP_RUN"/worker-*.pid; do
    [ -e "$f" ] || continue
    n="${f##*/worker-}"; n="${n%.pid}"
    [[ "$n" =~ ^[0-9]+$ ]] || continue
    dcmp_pid_alive "$f" "$bin/dcmp-worker" >/dev/null && [ "$n" -gt "$top" ] && top="$n"
  done
  echo "$top"
}

stop_workers_above() {
  local f n grace=$(( ${WORKER_STOP_GRACE:-8} + 5 ))
  for f in "$DCMP_RUN"/worker-*.pid; do
    [ -e "$f" ] || continue
    n="${f##*/worker-}"; n="${n%.pid}"
    [[ "$n" =~ ^[0-9]+$ ]] || continue
    [ "$n" -gt "$1" ] && dcmp_stop "$f" "$bin/dcmp-worker" "worker-$n" "$grace"
  done
  return 0
}

start_workers() {
  local want="$1" i pidfile log pid
  stop_workers_above "$want"
  for ((i = 1; i <= want; i++)); do
    pidfile="$DCMP_RUN/worker-$i.pid"
    log="$logs/worker-$i.log"
    dcmp_pid_alive "$pidfile" "$bin/dcmp-worker" >/dev/null && continue
    spawn "worker-$i" "$pidfile" "$log" "$bin/dcmp-worker" --name "worker-$i"
  done
  for ((i = 1; i <= want; i++)); do
    pidfile="$DCMP_RUN/worker-$i.pid"
    pid="$(cat "$pidfile")"
    wait_part "worker-$i" "$pidfile" "$bin/dcmp-worker" "$logs/worker-$i.log" worker_ok "$i" "$pid"
  done
  dcmp_say "$want worker(s) registered in Redis"
}

# A new stack gets the default system settings and the base services (init.sh), so the first
# series sent is processed; a stack that has its settings keeps them.
first_init() {
  if [ ! -e "$SETTINGS" ]; then
    dcmp_say "no system settings yet ($SETTINGS): running ./init.sh"
    DCMP_ENV="$DCMP_ENVFILE" "$DCMP_ROOT/init.sh" || dcmp_die "init.sh failed (above)"
  fi
}

print_urls() {
  local login="no login: this machine only"
  [ -z "${DASHBOARD_USER:-}" ] || login="login $DASHBOARD_USER"
  echo "  dashboard  http://$dashboard_addr:$DASHBOARD_PORT/  ($login)"
  echo "  Orthanc    http://$local_addr:$ORTHANC_HTTP_PORT/  (DICOM: AET $ORTHANC_AET, port $ORTHANC_DICOM_PORT)"
  echo "  scheduler  http://$local_addr:$SCHEDULER_PORT/health  (webhook: POST /stable-series)"
  echo "  Redis      $local_addr:$REDIS_PORT"
  echo "  BASEDIR    $BASEDIR  (logs: $logs)"
}

native_status() {
  local rc=0 pid f n
  status_line() {
    if pid="$(dcmp_pid_alive "$2" "$3")"; then
      printf '%-10s running  pid %-8s log %s\n' "$1" "$pid" "$4"
    else
      printf '%-10s stopped\n' "$1"
      rc=3
    fi
  }
  status_line redis "$DCMP_RUN/redis.pid" "$redis_bin" "$logs/redis.log"
  status_line orthanc "$DCMP_RUN/orthanc.pid" "$orthanc_bin" "$logs/orthanc.log"
  status_line scheduler "$DCMP_RUN/scheduler.pid" "$bin/dcmp-scheduler" "$logs/scheduler.log"
  status_line dashboard "$DCMP_RUN/dashboard.pid" "$bin/dcmp-dashboard" "$logs/dashboard.log"
  n=0
  for f in "$DCMP_RUN"/worker-*.pid; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    local w="${f##*/}"; w="${w%.pid}"
    status_line "$w" "$f" "$bin/dcmp-worker" "$logs/$w.log"
  done
  [ "$n" -gt 0 ] || { printf '%-10s none\n' worker; rc=3; }
  return "$rc"
}

native_down() {
  local f n grace=$(( ${WORKER_STOP_GRACE:-8} + 5 ))
  for f in "$DCMP_RUN"/worker-*.pid; do
    [ -e "$f" ] || continue
    n="${f##*/}"; n="${n%.pid}"
    dcmp_stop "$f" "$bin/dcmp-worker" "$n" "$grace"
  done
  dcmp_stop "$DCMP_RUN/dashboard.pid" "$bin/dcmp-dashboard" dashboard 10
  dcmp_stop "$DCMP_RUN/scheduler.pid" "$bin/dcmp-scheduler" scheduler 15
  dcmp_stop "$DCMP_RUN/orthanc.pid" "$orthanc_bin" orthanc 20
  dcmp_stop "$DCMP_RUN/redis.pid" "$redis_bin" redis 15
  [ "$running_mode" != native ] || rm -f "$DCMP_RUN/mode"
}

native_main() {
  native_env
  case "$action" in
    status) native_status; exit $? ;;
    down) native_down; return 0 ;;
  esac
  local t0=$SECONDS want current
  need_programs
  need_binaries
  basedir_check
  mkdir -p "$REGISTRY" "$MODULES" "$DATA" "$logs" "$DCMP_RUN"
  echo native > "$DCMP_RUN/mode"
  # the ports of the parts that do not run yet must be free: checked before anything starts
  local ports=""
  dcmp_pid_alive "$DCMP_RUN/redis.pid" "$redis_bin" >/dev/null || ports+=" REDIS_PORT=$REDIS_PORT"
  dcmp_pid_alive "$DCMP_RUN/orthanc.pid" "$orthanc_bin" >/dev/null ||
    ports+=" ORTHANC_HTTP_PORT=$ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT=$ORTHANC_DICOM_PORT"
  dcmp_pid_alive "$DCMP_RUN/scheduler.pid" "$bin/dcmp-scheduler" >/dev/null ||
    ports+=" SCHEDULER_PORT=$SCHEDULER_PORT"
  dcmp_pid_alive "$DCMP_RUN/dashboard.pid" "$bin/dcmp-dashboard" >/dev/null ||
    ports+=" DASHBOARD_PORT=$DASHBOARD_PORT"
  dcmp_ports_free "$ports"
  start_redis
  start_orthanc
  start_scheduler
  current="$(workers_running)"
  if [ -n "$scale" ]; then
    want="$scale"
  elif [ "$current" -gt 0 ]; then
    want="$current"
  else
    want=1
  fi
  start_workers "$want"
  start_dashboard
  first_init
  dcmp_say "stack up in $((SECONDS - t0))s:"
  print_urls
}

if [ "$mode" = docker ]; then
  docker_main
else
  native_main
fi
