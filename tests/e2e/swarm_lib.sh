# swarm_lib.sh -- the swarm tests' helpers, sourced after check.sh with $stack set (the stack's
# name): stack_rcli ENGINE ARGS... (redis-cli in the stack's Redis task, through the docker
# command or function ENGINE); stack_live_workers ENGINE N (N workers with a live heartbeat).
# stack_rcli ENGINE ARGS...: redis-cli inside the Redis task, with the password of its
# environment (never on a command line)
stack_rcli() {
  local engine="$1" id
  shift
  id="$("$engine" ps -q --filter "label=com.docker.swarm.service.name=${stack}_redis_server" | head -n 1)"
  # shellcheck disable=SC2016 # $REDIS_PSWD and $@ belong to the container's shell
  "$engine" exec "$id" sh -c 'REDISCLI_AUTH="$REDIS_PSWD" redis-cli --no-auth-warning "$@"' sh "$@"
}
# stack_live_workers ENGINE N: succeeds when exactly N registered workers have a live heartbeat
stack_live_workers() {
  local w n=0
  for w in $(stack_rcli "$1" smembers dcmp:workers); do
    [ "$(stack_rcli "$1" exists "dcmp:worker:$w:hb")" = 1 ] && n=$((n + 1))
  done
  test "$n" = "$2"
}
