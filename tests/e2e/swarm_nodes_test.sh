#!/usr/bin/env bash
# swarm_nodes_test.sh -- the stack on a Docker Swarm of two nodes, both engines made here, so the
# host's engine and its swarm state are never touched: two network namespaces joined by a veth
# pair, a dockerd in each (its own data-root, exec-root, containerd, socket, pidfile, cgroup
# parent and host name; no docker0 bridge, no iptables rules: nothing of the host's), one the
# swarm's manager on its veth address, the other joined as a worker through the Engine API (the
# join token in a file, never on a command line). `run.sh --swarm`, run in the manager's
# namespace, builds the images on the host's engine (SWARM_BUILD_DOCKER_HOST) and loads them by
# docker save | docker load: all on the manager, the worker's on the worker node (reached
# through SWARM_DOCKER_HOSTS); the
# workers are placed by a node label (gpu=true: the worker node only), python3-pydicom's CT5N
# is sent with storescu and its jobs run there, across the overlay network (VXLAN between the
# namespaces); then, unconstrained and scaled to 3, workers run on both nodes; `run.sh down`
# leaves no service, container or network of the stack on either engine. Skips unless root
# (network namespaces) and a host engine answers (the images are built there).
#
# Usage: tests/e2e/swarm_nodes_test.sh
# Environment: DCMP_REQUIRE_DOCKER=1 (fail instead of skipping when no engine answers),
# DCMP_IMAGE_TAG, DCMP_KEEP=1 (keep the temp folder and the engines' logs).
# Exit status: 0 passed, 1 failed, 77 skipped (CTest's SKIP_RETURN_CODE).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
test_name=swarm_nodes_test
. "$root/tests/e2e/check.sh" # say, check, $failures, wait_for, need_docker
need_docker
if [ "$(id -u)" != 0 ]; then
  say "skipped: needs root (it makes network namespaces and runs two dockerds)"
  exit 77
fi
need_programs dockerd nsenter unshare ip storescu curl findmnt
ct5n=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$ct5n" ] || { say "FAIL $ct5n missing: install python3-pydicom"; exit 1; }

# the host's engine builds the images: the one this test's docker talks to
host_engine="${DOCKER_HOST:-unix:///var/run/docker.sock}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-swn.XXXXXX")"
chmod 755 "$tmp" # the containers (uid 4321) reach BASEDIR below it
. "$root/scripts/native/common.sh" # dcmp_pick_port
export BASEDIR="$tmp/base" DCMP_ENV="$tmp/env" COMPOSE_PROJECT_NAME="dcmpswn$$" STABLE_AGE=1
export DCMP_START_TIMEOUT=180 SWARM_BUILD_DOCKER_HOST="$host_engine"
pick_stack_ports
stack="$COMPOSE_PROJECT_NAME"
. "$root/tests/e2e/swarm_lib.sh" # stack_rcli, stack_live_workers
mkdir -m 700 "$BASEDIR"
(umask 077 && cp .env.example "$DCMP_ENV")
chown 4321:4321 "$BASEDIR" "$DCMP_ENV" # the containers run as BASEDIR's owner, not root

# the two nodes: m (manager) and w (worker), each a namespace dcmpswn-PID-X with 10.252.0.X/30
ns_m="dcmpswn-$$-m" ns_w="dcmpswn-$$-w" addr_m=10.252.0.1 addr_w=10.252.0.2
declare -A dpid=()
sock() { printf 'unix://%s/%s/sock' "$tmp" "$1"; }
dm() { docker -H "$(sock m)" "$@"; }
dw() { docker -H "$(sock w)" "$@"; }
in_m() { nsenter --net="/run/netns/$ns_m" "$@"; } # a command in the manager's network

finish() {
  local rc=$? n p mnt
  if [ -n "${dpid[m]:-}" ]; then
    in_m ./run.sh down >"$tmp/down-at-exit.log" 2>&1 || true
    dw swarm leave --force >/dev/null 2>&1 || true
    dm swarm leave --force >/dev/null 2>&1 || true
  fi
  # the engines, by their pids; then anything still started from their folders (containerd
  # shims), also by pid
  for n in "${!dpid[@]}"; do kill -TERM "${dpid[$n]}" 2>/dev/null || true; done
  for n in "${!dpid[@]}"; do
    wait_for 60 bash -c '! kill -0 "$1"' sh "${dpid[$n]}" || kill -KILL "${dpid[$n]}" 2>/dev/null || true
  done
  for p in $(pgrep -f "$tmp/" || true); do
    [ "$p" = $$ ] || kill -KILL "$p" 2>/dev/null || true
  done
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r mnt; do umount -l "$mnt" || true; done
  for n in m w; do
    ip netns del "dcmpswn-$$-$n" 2>/dev/null || true
    rmdir /sys/fs/cgroup/*/"dcmpswn-$$-$n" 2>/dev/null || true
  done
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    say "kept $tmp (the engines' logs: $tmp/m/dockerd.log, $tmp/w/dockerd.log)"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT
trap 'exit 1' TERM INT

# ---- two namespaces and an engine in each ----
ip netns add "$ns_m" && ip netns add "$ns_w" &&
  ip link add "swn$$m" netns "$ns_m" type veth peer name "swn$$w" netns "$ns_w" &&
  ip -n "$ns_m" addr add "$addr_m/30" dev "swn$$m" && ip -n "$ns_w" addr add "$addr_w/30" dev "swn$$w" ||
  { say "FAIL making the namespaces"; exit 1; }
for n in m w; do
  ns="dcmpswn-$$-$n"
  ip -n "$ns" link set lo up && ip -n "$ns" link set "swn$$$n" up || { say "FAIL links of $ns up"; exit 1; }
  mkdir -p "$tmp/$n"
  # nsenter keeps the host's mount namespace (cgroups, the temp folder); unshare gives the
  # engine a host name of its own (the swarm's name of the node); the name is $1 of the script
  # shellcheck disable=SC2016
  nsenter --net="/run/netns/$ns" unshare --uts -- bash -c 'hostname "$1" && shift && exec "$@"' sh "$ns" \
    dockerd --data-root "$tmp/$n/data" --exec-root "$tmp/$n/x" --pidfile "$tmp/$n/dockerd.pid" \
    -H "$(sock "$n")" --bridge=none --iptables=false --ip-masq=false --cgroup-parent "$ns" \
    --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-p" >"$tmp/$n/dockerd.log" 2>&1 &
  dpid[$n]=$!
done
up() { dm info >/dev/null 2>&1 && dw info >/dev/null 2>&1; }
check "two dockerds in namespaces answer" wait_for 60 up || exit 1

# ---- a swarm of two: the manager on its veth address, the worker joined by the Engine API ----
if ! dm swarm init --advertise-addr "$addr_m" --listen-addr "$addr_m:2377" >"$tmp/init.log" 2>&1; then
  cat "$tmp/init.log"
  say "FAIL docker swarm init on $addr_m"
  exit 1
fi
token="$(dm swarm join-token -q worker)"
# printf is a shell builtin: the token goes to the file, never into a command line
(umask 077 && printf '{"ListenAddr":"%s:2377","AdvertiseAddr":"%s","RemoteAddrs":["%s:2377"],"JoinToken":"%s"}' \
  "$addr_w" "$addr_w" "$addr_m" "$token" >"$tmp/join.json")
unset token
code="$(curl -sS -o "$tmp/join.out" -w '%{http_code}' --unix-socket "$tmp/w/sock" \
  -H 'Content-Type: application/json' --data-binary @"$tmp/join.json" http://docker/swarm/join)"
rm -f "$tmp/join.json"
check "the worker engine joined the swarm (Engine API: $code $(cat "$tmp/join.out"))" test "$code" = 200 || exit 1
node_w="$(dw info -f '{{.Swarm.NodeID}}')"
ready() { test "$(dm node ls --format '{{.Status}}' | grep -c Ready)" = 2; }
check "two nodes ready" wait_for 60 ready || exit 1
label_w() { dm node update --label-add gpu=true "$node_w" >/dev/null; }
check "the worker node labelled gpu=true" label_w

# ---- up: images from the host's engine on both nodes, the workers on the gpu node ----
export DOCKER_HOST SWARM_DOCKER_HOSTS SWARM_WORKER_LABELS=gpu=true
DOCKER_HOST="$(sock m)" SWARM_DOCKER_HOSTS="$ns_w=$(sock w)"
if ! in_m ./run.sh --swarm >"$tmp/up.log" 2>&1; then
  grep -v '^ --->\|^Step \|Using cache' "$tmp/up.log" | tail -n 40
  say "FAIL run.sh --swarm"
  exit 1
fi
for n in m w; do
  check "run.sh loaded the images on node $n" grep -q "node dcmpswn-$$-$n: loading" "$tmp/up.log"
done
same_images() { # the manager has every image of the host's engine; the worker node the worker's only
  local img id
  for img in redis orthanc scheduler worker dashboard; do
    id="$(docker image inspect -f '{{.Id}}' "dcm-processor/$img:${DCMP_IMAGE_TAG:-latest}")" || return 1
    test "$(dm image inspect -f '{{.Id}}' "dcm-processor/$img:${DCMP_IMAGE_TAG:-latest}")" = "$id" || return 1
    if [ "$img" = worker ]; then
      test "$(dw image inspect -f '{{.Id}}' "dcm-processor/$img:${DCMP_IMAGE_TAG:-latest}")" = "$id" || return 1
    else
      ! dw image inspect "dcm-processor/$img:${DCMP_IMAGE_TAG:-latest}" >/dev/null 2>&1 || return 1
    fi
  done
}
check "the manager holds the host engine's images, the worker node the worker's only (the same ids)" same_images
check "run.sh status: every service runs" in_m ./run.sh status
# nodes_of SERVICE: the nodes its running tasks are on, sorted, one a line
nodes_of() {
  dm service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "${stack}_$1" |
    awk '$2 == "Running" { print $1 }' | sort
}
check "the worker on the gpu node only ($(nodes_of worker | tr '\n' ' '))" test "$(nodes_of worker)" = "$ns_w"
check "the scheduler on the manager" test "$(nodes_of scheduler)" = "$ns_m"

rcli() { stack_rcli dm "$@"; } # tests/e2e/swarm_lib.sh

# ---- a series through storescu to the manager's Orthanc, its jobs run on the worker node ----
in_m storescu -aec ORTHANC 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ct5n"/* || say "FAIL storescu of CT5N"
finished() { test "$(rcli zcard dcmp:reg:default:finished)" -ge 3; }
check "CT5N's jobs finished (anonymizer, storage, cleaner) by the worker on the other node" wait_for 180 finished
check "none failed" test "$(rcli zcard dcmp:reg:default:failed)" = 0

# ---- no label, three workers: on both nodes ----
if ! SWARM_WORKER_LABELS="" in_m ./run.sh --swarm --scale worker=3 >"$tmp/scale.log" 2>&1; then
  grep -v '^ --->\|^Step \|Using cache' "$tmp/scale.log" | tail -n 20
  say "FAIL run.sh --swarm --scale worker=3"
fi
check "no image loaded again (the nodes have them)" bash -c '! grep -q loading "$1"' sh "$tmp/scale.log"
check "three worker tasks on both nodes ($(nodes_of worker | tr '\n' ' '))" \
  test "$(nodes_of worker | wc -l)" = 3 -a "$(nodes_of worker | uniq | wc -l)" = 2
check "three live workers in Redis" wait_for 90 stack_live_workers dm 3

# ---- down: nothing of the stack left on either engine ----
check "run.sh down" in_m ./run.sh down
left() { # left ENGINE-FUNCTION: the stack's containers and networks that engine still has
  "$1" ps -aq --filter "label=com.docker.stack.namespace=$stack"
  "$1" network ls -q --filter "label=com.docker.stack.namespace=$stack"
}
check "nothing of the stack left on the manager" test -z "$(left dm)"
nothing_on_w() { test -z "$(left dw)"; }
check "nothing of the stack left on the worker node (its agent removes its tasks)" wait_for 60 nothing_on_w
check "no service left" test -z "$(dm service ls -q --filter "label=com.docker.stack.namespace=$stack")"
check "the mode record removed" test ! -e "$BASEDIR/run/mode"

[ "$failures" -eq 0 ] || exit 1
say "passed"
