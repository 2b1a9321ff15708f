#!/usr/bin/env bash
# study_test.sh -- a study-level service end to end, with Docker Compose (or natively), through
# the stack's real interfaces: run.sh brings the stack up in a temp BASEDIR on free loopback
# ports with a small STABLE_AGE (4 s; the default is 5) and init.sh installs base; service.sh installs studyseen
# (tests/e2e/studyseen: a Python service with trigger "study", whose callback always says yes
# and whose worker appends, per run, the series it saw under DATA); storescu sends three series
# of one study one after another, 1 s apart (shorter than STABLE_AGE). Each series pipeline
# (base's anonymizer) runs; once the series are ready and Orthanc calls the study stable, the
# scheduler plans one study event: the study job runs once, with all three series, each a link
# under DATA to its series' files, anonymized in place by their pipelines. The dashboard lists that event with level "study" and 3
# series. `run.sh down` leaves no container (no process) behind.
# base's systemcleaner removes each series' folder when its pipeline ends, after the study has
# held it (docs/planning.md, "Keeping files from the cleaner"): the study job still gets every
# series' files.
# In CI it runs after e2e.docker (DEPENDS, and the same RESOURCE_LOCK), whose images it
# reuses: run.sh's `up --build` finds every layer in the cache.
#
# Usage: tests/e2e/study_test.sh docker|native
# Environment: DCMP_BIN (the native programs; default build/bin), DCMP_REQUIRE_DOCKER=1 (docker:
# fail instead of skipping when no engine answers), DCMP_KEEP=1 (keep the temp folder). Exit
# status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail
mode="${1:-}"
case "$mode" in native | docker) ;; *) echo "usage: study_test.sh docker|native" >&2; exit 2 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1

test_name="study_test[$mode]"
. "$root/tests/e2e/check.sh" # say, check, wait_for, stack_finish, $failures

[ "$mode" != docker ] || need_docker
for p in storescu dump2dcm curl; do
  command -v "$p" >/dev/null || { say "FAIL $p is not installed (scripts/packages/test.txt)"; exit 1; }
done
py=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
[ -x "$py" ] || { say "FAIL $py is not installed (scripts/packages/test.txt)"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-study-$mode.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port, dcmp_curl_login
export BASEDIR="$tmp/base"
pick_stack_ports
export STABLE_AGE=4 CATCHUP_INTERVAL=2s LOG_LEVEL=info INIT_SERVICES=base
export COMPOSE_PROJECT_NAME="dcmpstudy$$"
cp .env.example "$tmp/env"
export DCMP_ENV="$tmp/env"
export DCMP_BIN="${DCMP_BIN:-$root/build/bin}"
mkdir -m 700 "$BASEDIR"

trap 'stack_finish $? "$mode"' EXIT

setting() { sed -n "s/^$1=//p" "$tmp/env" | tail -n 1; }
orthanc() { # orthanc PATH [CURL ARGS...]: Orthanc's REST API with the stack's login (on stdin)
  dcmp_curl_login "$(setting ORTHANC_REST_USERNAME)" "$(setting ORTHANC_REST_PASSWORD)" |
    curl -K - -s -f -m 10 "${@:2}" "http://127.0.0.1:$ORTHANC_HTTP_PORT$1"
}
dash() {
  dcmp_curl_login "$(setting DASHBOARD_USER)" "$(setting DASHBOARD_PASSWORD)" |
    curl -K - -s -f -m 10 "http://127.0.0.1:$DASHBOARD_PORT$1"
}
dump_logs() {
  if [ "$mode" = docker ]; then
    { docker-compose logs --no-color --tail 60 || docker compose logs --no-color --tail 60; } 2>&1 | tail -n 120
  else
    tail -n 30 "$BASEDIR"/logs/*.log
  fi
}

stack_up=1
if ! ./run.sh "--$mode" >"$tmp/run.log" 2>&1; then
  cat "$tmp/run.log"
  say "FAIL run.sh --$mode"
  exit 1
fi
check "run.sh brought the stack up with base installed" bash -c "./service.sh list | grep -q '^base '"
check "service.sh install studyseen (Python, trigger study)" ./service.sh install studyseen -p tests/e2e/studyseen
check "service.sh validate studyseen" bash -c "./service.sh validate studyseen | tail -n 1 | grep -qx valid"

# ---- three series of one study, 1 s apart ----
# All made before the first is sent, so that the pauses between the series stay well below
# STABLE_AGE even on a loaded machine: a longer one lets Orthanc call the study stable with the
# series so far, which is then (rightly) planned, and again with all three (rerun new-series).
study_uid="2.25.$(date +%s%N)$$"
descs=("AX T1" "AX T2" "FLAIR")
for k in 1 2 3; do
  STUDY_UID="$study_uid" SERIES_NUMBER=$k tests/e2e/make_series.sh "$tmp/s$k" 4 "${descs[k - 1]}" E2E-STUDY >/dev/null
done
for k in 1 2 3; do
  [ $k = 1 ] || sleep 1
  storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp/s$k"/*.dcm ||
    say "FAIL storescu of series $k"
done
study_id="$(orthanc /tools/lookup -X POST -d "$study_uid" |
  "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Study"][0])')"
check "Orthanc has the study" test -n "$study_id"
seen="$BASEDIR/data/studyseen/$study_id.jsonl"
if wait_for 180 test -s "$seen"; then
  # the scheduler's later chances to plan it again (series events of the results, the study
  # thread, the catch-up every 2 s, Orthanc's StableStudy after STABLE_AGE) all come and go
  sleep 10
  check "the study job ran once" test "$(wc -l <"$seen")" = 1
  summary() {
    "$py" -c '
import json, sys
d = json.loads(open(sys.argv[1]).readline())
print(" | ".join("%s %s %s" % (s["SeriesDescription"], s["instances"], s["files"])
                 for s in sorted(d["series"], key=lambda s: s["SeriesDescription"])))' "$seen"
  }
  check "with all three series, each a link to its 4 files" \
    test "$(summary)" = "AX T1 4 4 | AX T2 4 4 | FLAIR 4 4"
  patients() { "$py" -c 'import json,sys; print(" ".join(sorted({s["PatientID"] for s in json.loads(open(sys.argv[1]).readline())["series"]})))' "$seen"; }
  check "the files as the series pipelines left them: anonymized (one pseudonym, not E2E-STUDY)" \
    test "$(patients | wc -w)" = 1 -a "$(patients)" != E2E-STUDY
  check "its dcmpath the study folder of one version" \
    "$py" -c 'import json,re,sys; d=json.loads(open(sys.argv[1]).readline()); sys.exit(not re.fullmatch(r"studies/%s/[0-9a-f]{16}" % sys.argv[2], d["dcmpath"]))' "$seen" "$study_id"
  # the hold released once the study job ran: what base's cleaner put off is removed
  no_series_left() { [ -z "$(ls -A "$BASEDIR/data/dicom" 2>/dev/null)" ]; }
  check "the series' folders, held for the study, removed once its job ran" wait_for 60 no_series_left
  [ $failures -eq 0 ] || { cat "$seen"; ls -la "$BASEDIR/data/dicom" "$BASEDIR/data/.holds" 2>&1 | head -20; }
else
  say "FAIL the study job did not run within 180 s"
  failures=$((failures + 1))
  dump_logs
fi
# three series events and the study's, which the dashboard shows with its level and series
study_rows() {
  dash '/api/events?perPage=50' | "$py" -c '
import json, sys
e = json.load(sys.stdin)["events"]
print(sum(1 for x in e if x["level"] == "series"),
      [(x["state"], x["seriesCount"]) for x in e if x["level"] == "study" and x["state"] == "planned"])'
}
check "the dashboard: 3 series events, one study event planned with 3 series" \
  test "$(study_rows)" = "3 [('planned', 3)]"
[ $failures -eq 0 ] || study_rows

check "run.sh down" ./run.sh down
stack_up=0
if [ "$mode" = docker ]; then
  check "no container of the stack left" test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")"
fi

if [ $failures -gt 0 ]; then
  say "$failures check(s) failed"
  exit 1
fi
say "all checks passed"
