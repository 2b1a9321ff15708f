# check.sh -- the end-to-end scripts' helpers, sourced: say; check, which counts failures in
# $failures; wait_for; need_programs; need_docker; pick_stack_ports; stack_finish. The sourcing
# script sets test_name first.
failures=0
say() { echo "$test_name: $*"; }
check() { # check DESCRIPTION CMD...: runs CMD, counts a failure
  local what="$1"
  shift
  if "$@"; then
    say "ok   $what"
  else
    say "FAIL $what"
    failures=$((failures + 1))
  fi
}
# wait_for SECONDS CMD...: polls CMD every 0.5 s
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
# need_programs PROGRAM...: returns when each is on PATH; otherwise fails the test (exit 1),
# naming the first one missing
need_programs() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null || { say "FAIL $p is not installed (scripts/packages/test.txt)"; exit 1; }
  done
}
# need_docker: returns when a Docker engine answers; otherwise exits 77 (skipped), or 1 when
# DCMP_REQUIRE_DOCKER=1 (CI)
need_docker() {
  command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1 && return 0
  if [ "${DCMP_REQUIRE_DOCKER:-0}" = 1 ]; then
    say "FAIL no Docker engine answers 'docker info' and DCMP_REQUIRE_DOCKER=1"
    exit 1
  fi
  say "skipped: no Docker engine answers 'docker info' (start dockerd; CI does)"
  exit 77
}
# pick_stack_ports [VAR...]: a free port for each of the stack's five ports and the VARs given,
# exported (dcmp_pick_port: the script sources scripts/native/common.sh first)
pick_stack_ports() {
  local v
  for v in REDIS_PORT ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT SCHEDULER_PORT DASHBOARD_PORT "$@"; do
    dcmp_pick_port "$v"
  done
}
# stack_finish RC MODE: at a stack test's exit: `run.sh down --MODE` when $stack_up is 1 (into
# $tmp/down-at-exit.log), then $tmp kept (saying so, with where the logs are) when a check
# failed, the script exits with RC != 0 or DCMP_KEEP=1, else removed
stack_finish() {
  if [ "${stack_up:-0}" = 1 ]; then
    ./run.sh down "--$2" >"$tmp/down-at-exit.log" 2>&1 || true
  fi
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ "$1" -ne 0 ]; then
    say "kept $tmp (logs: $BASEDIR/logs, run.log)"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
