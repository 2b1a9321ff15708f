#!/usr/bin/env bash
# run.sh -- brings the whole dcm-processor stack up (Redis, Orthanc, the scheduler, N workers, the
# dashboard),
# stops it, or shows it. Docker Compose when a Docker engine answers and docker-compose.yml is
# here; native processes otherwise (--docker/--native force one). See docs/stack.md.
#
# Usage: run.sh [up] [--docker|--native|--swarm] [--scale worker=N] [--env FILE]
#        run.sh down [--docker|--native|--swarm] [--env FILE]
#        run.sh status [--docker|--native|--swarm] [--env FILE]
#        run.sh worker [up|down|status] --redis HOST:PORT [--native|--docker] [--scale worker=N]
#                      [--env FILE]
#   up (default)      start what is not running, wait until every part is healthy, print the
#                     URLs; safe to run again. On a running stack --scale only adds or removes
#                     workers; without --scale a running stack keeps its worker count (else 1).
#   down              stop what run.sh started (the mode it used is kept in BASEDIR/run/mode)
#   status            one line per part; exit 0 when every part runs, 3 otherwise
#   --swarm           the stack on Docker Swarm (docker stack deploy; see docs/scale.md)
#   worker            a worker-only host: only workers, against the central Redis at
#                     --redis HOST:PORT (password from REDIS_PSWD or REDIS_PSWD_FILE in the
#                     settings), its Orthanc (ORTHANC_REST_URL, else http://HOST:ORTHANC_HTTP_PORT)
#                     and the shared DATA and MODULES; named WORKER_HOST_NAME-worker-N natively;
#                     with Docker (chosen as for a stack) only the compose file's worker service
#   --env FILE        the settings (default: $DCMP_ENV when set, else .env beside run.sh);
#                     variables in the environment override the file (two stacks side by side)
# Native mode: daemons from $DCMP_BIN (default build/bin, built with ./build.sh --native when
# missing there), logs in BASEDIR/logs, pid files in BASEDIR/run, every port from the settings,
# everything on loopback (BIND_ADDRESS), Orthanc's config generated under BASEDIR/orthanc.
# Environment: DCMP_BIN (binaries), DCMP_START_TIMEOUT (seconds per part, default 120).
# Exit status: 0 done; 1 a part failed (its name and log are printed) or a missing program;
#              2 usage; 3 (status) not every part runs.
set -euo pipefail
DCMP_PROG=run.sh
. "$(dirname "${BASH_SOURCE[0]}")/scripts/native/common.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

action=up mode=auto scale="" envfile="" role=stack redis_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    up|down|status) action="$1" ;;
    --docker) mode=docker ;;
    --native) mode=native ;;
    --swarm) mode=swarm ;;
    worker) role=worker ;;
    --redis)
      [ $# -ge 2 ] || dcmp_die "--redis needs HOST:PORT" 2
      redis_arg="$2"; shift ;;
    --redis=*) redis_arg="${1#--redis=}" ;;
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
if [ "$role" = worker ]; then
  case "$mode" in
    swarm) dcmp_die "run.sh worker --swarm: a swarm places its workers itself (label the node: docs/scale.md)" 2 ;;
  esac
  [ "$action" != up ] || [ -n "$redis_arg" ] || dcmp_die "run.sh worker needs --redis HOST:PORT (the central Redis)" 2
elif [ -n "$redis_arg" ]; then
  dcmp_die "--redis is for a worker-only host: run.sh worker --redis HOST:PORT" 2
fi

# Native mode talks to its own Orthanc; a REST URL given in the environment still wins.
rest_url_from_env="${ORTHANC_REST_URL+x}"
dcmp_settings "$envfile"
cd "$DCMP_ROOT"

# compose_files: the compose files beyond docker-compose.yml's default (container_jobs sets them)
compose_files=()
cj_files=()
compose() { dcmp_compose "${compose_files[@]}" "$@"; }

# container_jobs [say]: Docker mode's CONTAINER_JOBS (docs/containers.md). With 1 the workers get
# the engine's socket through docker/container-jobs.yml, with the socket's group (so that their
# non-root user may use it) and DATA's host path (the engine binds host paths); with 0 (the
# default) no socket. `say`: tell what that means (up).
container_jobs() {
  local sock=/var/run/docker.sock
  compose_files=() cj_files=()
  case "${CONTAINER_JOBS:-0}" in
    0)
      [ "${1:-}" != say ] ||
        dcmp_say "container jobs off (CONTAINER_JOBS=0): the workers have no Docker engine socket; a job whose entry is a container image fails saying so (docs/containers.md)"
      return 0 ;;
    1) ;;
    *) dcmp_die "CONTAINER_JOBS=$CONTAINER_JOBS: 0 (no engine socket for the workers) or 1" 2 ;;
  esac
  case "${DOCKER_HOST:-}" in
    unix://*) sock="${DOCKER_HOST#unix://}" ;;
    '') ;;
    *) dcmp_die "CONTAINER_JOBS=1 needs the Docker engine on a Unix socket, not DOCKER_HOST=$DOCKER_HOST" ;;
  esac
  if [ ! -S "$sock" ]; then
    [ "${1:-}" != say ] || dcmp_die "CONTAINER_JOBS=1: no Docker engine socket at $sock"
    return 0
  fi
  DOCKER_SOCKET="$sock" DOCKER_SOCKET_GID="$(stat -c %g "$sock")"
  DCMP_DATA_HOST="$(cd "$DATA" 2>/dev/null && pwd -P || echo "$DATA")"
  export DOCKER_SOCKET DOCKER_SOCKET_GID DCMP_DATA_HOST
  cj_files=(-f "$DCMP_ROOT/docker/container-jobs.yml")
  compose_files=(-f "$DCMP_ROOT/docker-compose.yml" "${cj_files[@]}")
  [ "${1:-}" != say ] || {
    dcmp_say "container jobs ON (CONTAINER_JOBS=1): the worker containers get the Docker engine's socket $sock (its group $DOCKER_SOCKET_GID added to their user)"
    dcmp_say "WARNING: a process that can talk to the engine's socket is root on this host: whoever can install a service, change a worker image or run code in a worker can take this machine. CONTAINER_JOBS=0 in .env turns it off (docs/containers.md)"
  }
}

docker_available() { [ -f "$DCMP_ROOT/docker-compose.yml" ] && timeout 10 docker info >/dev/null 2>&1; }

# The mode a stack of this BASEDIR runs in (up wrote it), else none.
running_mode="$(cat "$DCMP_RUN/mode" 2>/dev/null || true)"
case "$running_mode" in docker|native|swarm) ;; *) running_mode="" ;; esac

why=""
if [ "$role" = worker ]; then
  : # a worker-only host: no stack of its own here
elif [ "$mode" = auto ] && [ -z "$running_mode" ] && [ "$action" != up ]; then
  # nothing of this BASEDIR runs (up writes BASEDIR/run/mode, down removes it)
  dcmp_say "no stack runs in $BASEDIR (no $DCMP_RUN/mode)"
  [ "$action" = status ] && exit 3
  exit 0
fi
if [ "$role" = worker ]; then
  : # worker_host_main chooses: the mode its workers run in, else as for a stack
elif [ "$mode" = auto ]; then
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
[ "$action" != up ] || [ "$role" = worker ] || dcmp_say "$mode mode ($why)"
# the anonymizer's key and the logins must be in the daemons' environment from their start;
# new logins only for a stack that does not run yet (its running parts know none); a worker
# host makes none: it must use the central stack's
if [ "$action" = up ] && [ "$role" = stack ]; then
  dcmp_secret_ensure
  dcmp_logins_ensure "$([ -n "$running_mode" ] || echo 1)"
fi

# Redis and Orthanc listen beyond loopback only when the settings say so, and then only with
# their logins (an empty login is otherwise allowed on loopback, with a warning)
is_loopback() { case "$1" in 127.*|localhost|::1) return 0 ;; esac; return 1; }
if [ "$action" = up ] && [ "$role" = stack ]; then
  is_loopback "$REDIS_BIND" || [ -n "${REDIS_PSWD:-${REDIS_PASSWORD:-}}" ] ||
    dcmp_die "REDIS_BIND=$REDIS_BIND opens Redis beyond this machine: set its password (REDIS_PSWD) first" 2
  is_loopback "$ORTHANC_BIND" || { [ -n "${ORTHANC_REST_USERNAME:-}" ] && [ -n "${ORTHANC_REST_PASSWORD:-}" ]; } ||
    dcmp_die "ORTHANC_BIND=$ORTHANC_BIND opens Orthanc beyond this machine: set its login (ORTHANC_REST_USERNAME, ORTHANC_REST_PASSWORD) first" 2
fi

timeout_s="${DCMP_START_TIMEOUT:-120}"
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
      [ "$svc" != worker ] || [ "${scale:-1}" != 0 ] || continue
      mapfile -t ids < <(compose ps -q "$svc" 2>/dev/null)
      [ ${#ids[@]} -gt 0 ] || { pending="$svc (no container)"; continue; }
      for id in "${ids[@]}"; do
        state="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}} {{.RestartCount}}' "$id" 2>/dev/null || echo "gone 0")"
        # a container that keeps restarting will not get better by waiting
        [ "${state#* }" -lt 3 ] || [ "${state% *}" = healthy ] || state="restarting 0"
        state="${state% *}"
        case "$state" in
          healthy|running) ;;
          # unhealthy is not final: a probe times out on a loaded host, and a scheduler
          # whose Redis is not up yet answers 503 until it is (docker marks it healthy then)
          unhealthy) pending="$svc (unhealthy: $(docker inspect -f '{{with .State.Health}}{{range .Log}}{{println .Output}}{{end}}{{end}}' "$id" 2>/dev/null | grep -v '^$' | tail -1 | cut -c1-200))" ;;
          exited|dead|gone|restarting)
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

# docker_prepare: what a Docker stack (Compose or Swarm) needs before it starts: the BASEDIR
# layout its bind mounts take, BASEDIR checked, the containers' user (BASEDIR's owner), every
# bind mount's source, the base image.
docker_prepare() {
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
  on_build_engine "$DCMP_ROOT/scripts/base-image.sh" || dcmp_die "no base image to build from (above)"
}

# on_build_engine CMD...: CMD against the engine that builds the images: with --swarm
# SWARM_BUILD_DOCKER_HOST when set (a build machine; the images then reach every node, this
# manager too, by swarm_share_images), else the engine docker talks to (DOCKER_HOST or the local).
on_build_engine() {
  (
    if [ "$mode" = swarm ] && [ -n "${SWARM_BUILD_DOCKER_HOST:-}" ]; then
      export DOCKER_HOST="$SWARM_BUILD_DOCKER_HOST"
      unset DOCKER_CONTEXT
    fi
    "$@"
  )
}

docker_main() {
  [ -f "$DCMP_ROOT/docker-compose.yml" ] || dcmp_die "no docker-compose.yml in $DCMP_ROOT (use --native)"
  command -v docker >/dev/null || dcmp_die "docker is not installed (use --native)"
  local args
  container_jobs
  case "$action" in
    up)
      docker_prepare
      container_jobs say
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

# The programs: DCMP_BIN, else those a running native stack of this BASEDIR was started with
# (up keeps the folder in BASEDIR/run/bin), so that status, down and --scale find a stack
# started with DCMP_BIN=... without it (its pids are matched by program: others' are left)
bin_started=""
[ "$running_mode" != native ] || bin_started="$(cat "$DCMP_RUN/bin" 2>/dev/null || true)"
bin="${DCMP_BIN:-${bin_started:-$DCMP_ROOT/build/bin}}"
redis_bin="$(command -v redis-server || echo /usr/bin/redis-server)"
orthanc_bin="$(command -v Orthanc || echo /usr/sbin/Orthanc)"
[ -x "$orthanc_bin" ] || orthanc_bin=/usr/sbin/Orthanc
logs="$BASEDIR/logs"

# A loopback address the clients use to reach what listens on BIND_ADDRESS (REDIS_BIND).
case "$BIND_ADDRESS" in 0.0.0.0|'') local_addr=127.0.0.1 ;; *) local_addr="$BIND_ADDRESS" ;; esac
case "$REDIS_BIND" in 0.0.0.0|'') redis_addr=127.0.0.1 ;; *) redis_addr="$REDIS_BIND" ;; esac
# the dashboard without a login listens on loopback whatever BIND_ADDRESS says
dashboard_addr="$local_addr"
[ -n "${DASHBOARD_USER:-}" ] || dashboard_addr=127.0.0.1

native_env() {
  if [ "$role" = worker ]; then
    worker_host_env
  else
    export REDIS_HOST="$redis_addr"
  fi
  # the dashboard listens on BIND_ADDRESS only with a login (else it keeps to loopback)
  export DASHBOARD_BIND="${DASHBOARD_BIND:-$BIND_ADDRESS}"
  export SCHEDULER_BIND="$BIND_ADDRESS"
  export SCHEDULER_HOST="$local_addr"
  [ -n "$rest_url_from_env" ] || [ "$role" = worker ] ||
    export ORTHANC_REST_URL="http://127.0.0.1:$ORTHANC_HTTP_PORT"
  export STABLE_AGE="${STABLE_AGE:-5}"
  export DCMP_ENV="$DCMP_ENVFILE"
  # redis-cli reads the password from here (not from its command line, which ps shows)
  if [ -n "${REDIS_PSWD:-${REDIS_PASSWORD:-}}" ]; then
    export REDISCLI_AUTH="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
  fi
}

rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --no-auth-warning "$@"; }

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
# worker_name N: the name worker N registers in Redis (a worker host's carry its name: names
# must be unique across the hosts of one Redis)
worker_name() {
  if [ "$role" = worker ]; then echo "$worker_prefix-worker-$1"; else echo "worker-$1"; fi
}
orthanc_ok() { orthanc_get /system >/dev/null; }
scheduler_ok() { curl -s -f -m 5 "http://$local_addr:$SCHEDULER_PORT/health" >/dev/null; }
dashboard_ok() { curl -s -f -m 5 "http://$dashboard_addr:$DASHBOARD_PORT/health" >/dev/null; }
# worker_ok N PID: registered in Redis under its name with its pid, heartbeat fresh
worker_ok() {
  local w
  w="$(worker_name "$1")"
  [ "$(rcli hget "dcmp:worker:$w" pid 2>/dev/null)" = "$2" ] &&
    [ "$(rcli exists "dcmp:worker:$w:hb" 2>/dev/null)" = 1 ]
}

redis_conf_str() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

start_redis() {
  local pidfile="$DCMP_RUN/redis.pid" log="$logs/redis.log" conf="$BASEDIR/redis/redis.conf"
  local pass="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
  if dcmp_pid_alive "$pidfile" "$redis_bin" >/dev/null; then
    redis_ok || dcmp_die "redis (pid $(cat "$pidfile")) runs but does not answer PING on $redis_addr:$REDIS_PORT; see $log"
    return 0
  fi
  mkdir -p "$BASEDIR/redis"
  (
    umask 077
    {
      echo "# written by run.sh at every start of Redis: edit .env, not this file"
      echo "bind $REDIS_BIND"
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
  dcmp_say "redis up (pid $(cat "$pidfile"), $REDIS_BIND:$REDIS_PORT)"
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
    spawn "worker-$i" "$pidfile" "$log" "$bin/dcmp-worker" --name "$(worker_name "$i")"
  done
  for ((i = 1; i <= want; i++)); do
    pidfile="$DCMP_RUN/worker-$i.pid"
    pid="$(cat "$pidfile")"
    wait_part "worker-$i" "$pidfile" "$bin/dcmp-worker" "$logs/worker-$i.log" worker_ok "$i" "$pid"
  done
  dcmp_say "$want worker(s) registered in Redis"
  [ "${CONTAINER_JOBS:-}" != 0 ] ||
    dcmp_say "container jobs off (CONTAINER_JOBS=0): the workers run no container image, even with the host's Docker engine; empty it in .env to use that engine (docs/containers.md)"
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
  echo "  Redis      $redis_addr:$REDIS_PORT"
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
  [ "$running_mode" != native ] || rm -f "$DCMP_RUN/mode" "$DCMP_RUN/bin"
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
  (cd "$bin" && pwd) > "$DCMP_RUN/bin"
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

# ---------------------------------------------------------------------------------------------
# A worker-only host (run.sh worker --redis HOST:PORT)
# ---------------------------------------------------------------------------------------------

# worker_host_env: the central Redis (--redis, or the one up recorded for down and status), its
# password from the settings or REDIS_PSWD_FILE (never a command line), the central Orthanc,
# and this host's worker name prefix. Exported for the workers run.sh starts.
worker_host_env() {
  local rhost pass
  [ -n "$redis_arg" ] || redis_arg="$(awk '{print $2; exit}' "$DCMP_RUN/worker-host" 2>/dev/null || true)"
  [ -n "$redis_arg" ] || redis_arg=127.0.0.1:0 # down/status of a host that never started
  if ! [[ "$redis_arg" =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):([0-9]{1,5})$ ]] ||
    [ "${BASH_REMATCH[2]}" -gt 65535 ]; then
    dcmp_die "--redis $redis_arg: give HOST:PORT (a host name, an IPv4 address or [IPv6]) of the central Redis" 2
  fi
  rhost="${BASH_REMATCH[1]}"
  export REDIS_PORT="${BASH_REMATCH[2]}"
  rhost="${rhost#[}"
  export REDIS_HOST="${rhost%]}"
  if [ -n "${REDIS_PSWD_FILE:-}" ]; then
    [ -r "$REDIS_PSWD_FILE" ] || dcmp_die "REDIS_PSWD_FILE=$REDIS_PSWD_FILE: cannot read it"
    [ -z "$(find "$REDIS_PSWD_FILE" -perm /077)" ] ||
      dcmp_die "REDIS_PSWD_FILE=$REDIS_PSWD_FILE: others may read it; chmod 600 it"
    IFS= read -r pass <"$REDIS_PSWD_FILE" || [ -n "$pass" ] ||
      dcmp_die "REDIS_PSWD_FILE=$REDIS_PSWD_FILE: empty"
  else
    pass="${REDIS_PSWD:-${REDIS_PASSWORD:-}}"
  fi
  [ -n "$pass" ] || [ "$action" != up ] ||
    dcmp_die "a worker host needs the central Redis' password: REDIS_PSWD (copied from the central .env) or REDIS_PSWD_FILE in ${DCMP_ENVFILE:-the settings}"
  export REDIS_PSWD="$pass" REDISCLI_AUTH="$pass"
  unset REDIS_PASSWORD
  export ORTHANC_REST_URL="${ORTHANC_REST_URL:-http://${BASH_REMATCH[1]}:$ORTHANC_HTTP_PORT}"
  worker_prefix="${WORKER_HOST_NAME:-$(hostname -s)}"
  [[ "$worker_prefix" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$ ]] ||
    dcmp_die "WORKER_HOST_NAME=$worker_prefix: 1 to 40 letters, digits, _ . - (the prefix of this host's worker names)"
}

# worker_host_docker: the compose file's worker service alone (--no-deps), on the host's network
# (docker/worker-host.yml), pointed at the central Redis and Orthanc (WORKER_REDIS_HOST,
# WORKER_REDIS_PORT, WORKER_ORTHANC_URL), with this host's BASEDIR layout (data/ and modules/ the
# shared mount). Each worker is named WORKER_HOST_NAME-<8 random hex> (docker/worker-host.yml).
wcompose() {
  local compose_files=()
  compose -f "$DCMP_ROOT/docker-compose.yml" -f "$DCMP_ROOT/docker/worker-host.yml" "${cj_files[@]}" "$@"
}
worker_host_docker() {
  export WORKER_REDIS_HOST="$REDIS_HOST" WORKER_REDIS_PORT="$REDIS_PORT" WORKER_ORTHANC_URL="$ORTHANC_REST_URL"
  export WORKER_HOST_NAME="$worker_prefix"
  container_jobs
  case "$action" in
    status)
      wcompose ps worker
      [ -n "$(wcompose ps -q worker 2>/dev/null)" ] || exit 3
      exit 0 ;;
    down)
      wcompose down
      rm -f "$DCMP_RUN/worker-host"
      return 0 ;;
  esac
  worker_host_checks
  docker_prepare
  container_jobs say
  redis_ok ||
    dcmp_die "the central Redis at $redis_arg does not answer PING with the password of the settings (is it published beyond loopback? REDIS_BIND in the central .env)"
  local current want id deadline=$((SECONDS + timeout_s)) live
  current="$(wcompose ps -q worker 2>/dev/null | wc -l)"
  want="${scale:-$current}"
  [ "$want" -gt 0 ] || want=1
  echo "docker $redis_arg" >"$DCMP_RUN/worker-host"
  dcmp_basedir_own flat "$DCMP_RUN/worker-host"
  wcompose up -d --build --no-deps --scale "worker=$want" worker ||
    dcmp_die "docker compose up worker failed (above)"
  # as many of this host's workers registered in the central Redis as containers, heartbeats fresh
  while :; do
    live=0
    for id in $(rcli smembers dcmp:workers 2>/dev/null); do
      [ "${id#"$worker_prefix"-}" != "$id" ] && [ "$(rcli exists "dcmp:worker:$id:hb")" = 1 ] &&
        live=$((live + 1))
    done
    [ "$live" -lt "$want" ] || break
    if [ $SECONDS -ge $deadline ]; then
      docker_show_failed
      dcmp_die "$live of $want worker container(s) registered in Redis $redis_arg after ${timeout_s}s (logs above; more: docker compose logs worker)"
    fi
    sleep 1
  done
  dcmp_say "worker host up: $want worker container(s) against Redis $redis_arg, Orthanc $ORTHANC_REST_URL, DATA $DATA"
}

# worker_host_checks: what a worker host needs before its workers start.
worker_host_checks() {
  [ ! -e "$DCMP_RUN/mode" ] ||
    dcmp_die "BASEDIR $BASEDIR holds a whole stack ($DCMP_RUN/mode): a worker host needs a BASEDIR of its own (DATA and MODULES may point elsewhere)"
  [ -d "$MODULES" ] ||
    dcmp_die "MODULES=$MODULES: no such folder; a worker host needs the central stack's installed services (the same MODULES, e.g. on the shared mount)"
  { [ -d "$DATA" ] && [ -w "$DATA" ]; } ||
    dcmp_die "DATA=$DATA: not a folder this user can write; a worker host needs the central stack's DATA on a shared mount (docs/scale.md)"
  [ -n "${ANONYMIZER_SECRET:-}" ] ||
    dcmp_say "warning: no ANONYMIZER_SECRET in the settings: the anonymizer's jobs fail on this host (copy it from the central .env)"
}

worker_host_main() {
  local f recorded
  recorded="$(awk '{print $1; exit}' "$DCMP_RUN/worker-host" 2>/dev/null || true)"
  if [ "$mode" = auto ]; then
    case "$recorded" in
      docker|native) mode="$recorded" ;;
      *) if docker_available; then mode=docker; else mode=native; fi ;;
    esac
  elif [ "$action" = up ] && [ -n "$recorded" ] && [ "$recorded" != "$mode" ]; then
    dcmp_die "this host's workers run in $recorded mode: run.sh worker down first to switch to $mode"
  fi
  if [ "$mode" = docker ]; then
    worker_host_env
    worker_host_docker
    return
  fi
  native_env
  case "$action" in
    status)
      local rc=3 pid
      for f in "$DCMP_RUN"/worker-*.pid; do
        [ -e "$f" ] || continue
        n="${f##*/worker-}"; n="${n%.pid}"
        if pid="$(dcmp_pid_alive "$f" "$bin/dcmp-worker")"; then
          printf '%-24s running  pid %-8s log %s\n' "$(worker_name "$n")" "$pid" "$logs/worker-$n.log"
          rc=0
        else
          printf '%-24s stopped\n' "$(worker_name "$n")"
        fi
      done
      [ "$rc" = 0 ] || echo "no worker of this host runs"
      exit "$rc" ;;
    down)
      stop_workers_above 0
      rm -f "$DCMP_RUN/worker-host"
      return 0 ;;
  esac
  worker_host_checks
  need_binaries
  basedir_check
  mkdir -p "$logs" "$DCMP_RUN"
  redis_ok ||
    dcmp_die "the central Redis at $redis_arg does not answer PING with the password of the settings (is it listening beyond loopback? REDIS_BIND in the central .env)"
  echo "native $redis_arg" >"$DCMP_RUN/worker-host"
  dcmp_basedir_own flat "$DCMP_RUN/worker-host"
  local current want
  current="$(workers_running)"
  want="${scale:-$current}"
  [ "$want" -gt 0 ] || want=1
  start_workers "$want"
  dcmp_say "worker host up: $want worker(s) named $(worker_name N) against Redis $redis_arg, Orthanc $ORTHANC_REST_URL, DATA $DATA"
}

# ---------------------------------------------------------------------------------------------
# Docker Swarm (run.sh --swarm)
# ---------------------------------------------------------------------------------------------

stack_services=(redis_server orthanc scheduler worker dashboard)

# swarm_objects KIND: the stack's objects of KIND (service, network, container, config, secret,
# volume) that Docker still lists, one name a line.
swarm_objects() {
  local f="label=com.docker.stack.namespace=$stack"
  case "$1" in
    service) docker service ls -q --filter "$f" ;;
    network) docker network ls -q --filter "$f" ;;
    container) docker ps -aq --filter "$f" ;;
    config) docker config ls -q --filter "$f" ;;
    secret) docker secret ls -q --filter "$f" ;;
    volume) docker volume ls -q --filter "$f" ;;
  esac 2>/dev/null
}

# swarm_share_images: the stack's images on every node of the swarm that lacks them (an image's
# id there differs from the build engine's), by `docker save` on the build engine piped into
# `docker load` on the node: no registry needed. Every image on the manager, which is such a
# node when they are built elsewhere (SWARM_BUILD_DOCKER_HOST); on the other nodes only the
# worker's (docker/swarm.yml pins every other service to the manager). Another node's engine is reached at
# SWARM_DOCKER_HOSTS' entry for its host name (NODE=ENDPOINT ..., e.g. gpu1=ssh://admin@gpu1),
# else at ssh://SWARM_SSH_USER@ADDRESS (default root; the swarm's address of the node), as the
# docker CLI's -H takes it.
swarm_share_images() {
  local self id name addr ep img here there entry n=0
  local -a node images
  self="$(docker info -f '{{.Swarm.NodeID}}')"
  for id in $(docker node ls -q); do
    name="$(docker node inspect -f '{{.Description.Hostname}}' "$id")"
    if [ "$id" = "$self" ]; then
      [ -n "${SWARM_BUILD_DOCKER_HOST:-}" ] || continue # built here
      node=(docker) images=("${stack_images[@]}")
      ep="this manager's engine"
    else
      addr="$(docker node inspect -f '{{.Status.Addr}}' "$id")"
      ep="ssh://${SWARM_SSH_USER:-root}@$addr"
      for entry in ${SWARM_DOCKER_HOSTS:-}; do
        [ "${entry%%=*}" != "$name" ] || ep="${entry#*=}"
      done
      node=(docker -H "$ep") images=("$worker_image")
    fi
    for img in "${images[@]}"; do
      here="$(on_build_engine docker image inspect -f '{{.Id}}' "$img")"
      there="$("${node[@]}" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)"
      [ "$here" != "$there" ] || continue
      dcmp_say "node $name: loading $img (docker save | docker load, through $ep)"
      on_build_engine docker save "$img" | "${node[@]}" load >/dev/null ||
        dcmp_die "node $name: could not load $img through $ep (set SWARM_DOCKER_HOSTS=$name=ENDPOINT, docs/scale.md)"
      n=$((n + 1))
    done
  done
  [ "$n" = 0 ] || dcmp_say "$n image(s) loaded on the nodes"
}

# swarm_wait: every service of the stack with all its replicas running (healthy where the image
# has a health check: Swarm counts a task only then), else the failing one named with its tasks.
swarm_wait() {
  local deadline=$((SECONDS + timeout_s)) line pending svc
  while :; do
    pending=""
    for svc in "${stack_services[@]}"; do
      line="$(docker service ls --filter "name=${stack}_$svc" --format '{{.Name}} {{.Replicas}}' |
        awk -v n="${stack}_$svc" '$1 == n { print $2 }')"
      [[ "$line" =~ ^([0-9]+)/([0-9]+) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
        pending="$svc (${line:-no service})"
      # a service being updated still counts its old tasks
      case "$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "${stack}_$svc" 2>/dev/null)" in
        updating|rollback_started) pending="$svc (updating)" ;;
      esac
    done
    [ -z "$pending" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      docker service ps --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' "${stack}_${pending%% *}" >&2 || true
      dcmp_die "service $pending not running after ${timeout_s}s (its tasks above; more: docker service logs ${stack}_${pending%% *})"
    fi
    sleep 1
  done
}

swarm_main() {
  [ -f "$DCMP_ROOT/docker-compose.yml" ] || dcmp_die "no docker-compose.yml in $DCMP_ROOT"
  command -v docker >/dev/null || dcmp_die "docker is not installed"
  stack="${COMPOSE_PROJECT_NAME:-dcm-processor}"
  [[ "$stack" =~ ^[a-z0-9][a-z0-9_-]{0,40}$ ]] ||
    dcmp_die "COMPOSE_PROJECT_NAME=$stack: the stack's name: lower-case letters, digits, _ -" 2
  [ "$action" != up ] || [ "${CONTAINER_JOBS:-0}" = 0 ] ||
    dcmp_say "CONTAINER_JOBS=$CONTAINER_JOBS is not applied in swarm mode: its workers get no Docker engine socket, so container jobs fail there (docs/containers.md)"
  local state svc
  state="$(timeout 10 docker info -f '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null)" ||
    dcmp_die "no Docker engine answers"
  case "$action" in
    status)
      docker service ls --filter "label=com.docker.stack.namespace=$stack"
      for svc in "${stack_services[@]}"; do
        docker service ls --format '{{.Name}} {{.Replicas}}' --filter "name=${stack}_$svc" |
          awk -v n="${stack}_$svc" '$1 == n { split($2, r, "/"); ok = (r[1] == r[2] && r[2] > 0) } END { exit !ok }' ||
          exit 3
      done
      return 0 ;;
    down)
      local kind left="" deadline=$((SECONDS + timeout_s))
      [ -z "$(swarm_objects service)" ] || docker stack rm "$stack"
      # stack rm returns at once; its tasks' containers and its network go after
      while :; do
        left=""
        for kind in service container network config secret volume; do
          [ -z "$(swarm_objects "$kind")" ] || left+=" $kind"
        done
        if [ -z "$left" ] || [ $SECONDS -ge $deadline ]; then break; fi
        sleep 1
      done
      [ -z "$left" ] || dcmp_die "stack $stack: still left after ${timeout_s}s:$left (docker $kind ls --filter label=com.docker.stack.namespace=$stack)"
      [ "$running_mode" != swarm ] || rm -f "$DCMP_RUN/mode"
      dcmp_say "stack $stack removed: no service, container, network, config, secret or volume of it left"
      return 0 ;;
  esac
  [ "$state" = "active true" ] ||
    dcmp_die "this Docker engine is not a swarm manager (${state%% *}): make it one with docker swarm init --advertise-addr ADDRESS, or run on a manager (docs/scale.md)"
  if [ -n "${SWARM_BUILD_DOCKER_HOST:-}" ]; then
    timeout 10 docker -H "$SWARM_BUILD_DOCKER_HOST" info >/dev/null 2>&1 ||
      dcmp_die "SWARM_BUILD_DOCKER_HOST=$SWARM_BUILD_DOCKER_HOST: no Docker engine answers there (the engine that builds the images)"
  fi
  docker_prepare
  local running="" current want
  running="$(swarm_objects service)"
  if [ -z "$running" ]; then
    dcmp_ports_free "ORTHANC_HTTP_PORT=$ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT=$ORTHANC_DICOM_PORT DASHBOARD_PORT=$DASHBOARD_PORT"
  fi
  # the workers: --scale, else what runs, else 1; placed on nodes with SWARM_WORKER_LABELS
  current="$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "${stack}_worker" 2>/dev/null || echo 0)"
  want="${scale:-$current}"
  [ -n "$scale" ] || [ "$want" -gt 0 ] || want=1
  export SWARM_WORKERS="$want" SWARM_WORKER_CONSTRAINTS=""
  local label
  for label in ${SWARM_WORKER_LABELS:-}; do
    [[ "$label" =~ ^([A-Za-z0-9_.-]+)=([A-Za-z0-9_.-]+)$ ]] ||
      dcmp_die "SWARM_WORKER_LABELS: \"$label\" is not NAME=VALUE (letters, digits, _ . -)" 2
    SWARM_WORKER_CONSTRAINTS+="${SWARM_WORKER_CONSTRAINTS:+, }\"node.labels.${BASH_REMATCH[1]} == ${BASH_REMATCH[2]}\""
  done
  SWARM_MANAGER_ID="$(docker info -f '{{.Swarm.NodeID}}')"
  export SWARM_MANAGER_ID
  on_build_engine compose build || dcmp_die "building the images failed (above)"
  stack_images=() worker_image=""
  local img var
  for svc in "${stack_services[@]}"; do
    img="dcm-processor/${svc%_server}:${DCMP_IMAGE_TAG:-latest}" # docker-compose.yml's image:
    on_build_engine docker image inspect "$img" >/dev/null 2>&1 || dcmp_die "$img: not built (above)"
    stack_images+=("$img")
    [ "$svc" != worker ] || worker_image="$img"
    var="SWARM_IMAGE_ID_$(echo "$svc" | tr '[:lower:]' '[:upper:]')"
    export "$var=$(on_build_engine docker image inspect -f '{{.Id}}' "$img")"
  done
  swarm_share_images
  # the stack file holds the secrets of the settings: owner-only, removed once deployed
  local file="$DCMP_RUN/swarm-stack.json"
  (umask 077 && compose config | python3 "$DCMP_ROOT/scripts/swarm-stack.py" "$DCMP_ROOT/docker/swarm.yml" >"$file") ||
    { rm -f "$file"; dcmp_die "rendering the swarm stack failed (above)"; }
  echo swarm >"$DCMP_RUN/mode"
  dcmp_basedir_own flat "$DCMP_RUN/mode"
  if ! docker stack deploy --prune --resolve-image never -c "$file" "$stack"; then
    rm -f "$file"
    dcmp_die "docker stack deploy failed (above)"
  fi
  rm -f "$file"
  swarm_wait
  first_init
  echo "  dashboard  http://$local_addr:$DASHBOARD_PORT/  (published by Swarm on every address of this node: login required)"
  echo "  Orthanc    http://$local_addr:$ORTHANC_HTTP_PORT/  (DICOM: AET $ORTHANC_AET, port $ORTHANC_DICOM_PORT; every address of this node)"
  echo "  Redis, scheduler: not published (the stack's overlay network only)"
  echo "  stack      $stack: $want worker(s) (docker service ls; --scale worker=N)"
}

if [ "$role" = worker ]; then
  worker_host_main
elif [ "$mode" = swarm ]; then
  swarm_main
elif [ "$mode" = docker ]; then
  docker_main
else
  native_main
fi
