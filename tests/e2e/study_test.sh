#!/usr/bin/env bash
# study_test.sh -- study-level services end to end, with Docker Compose (or natively), through
# the stack's real interfaces: run.sh brings the stack up in a temp BASEDIR on free loopback
# ports with a small STABLE_AGE (4 s; the default is 5) and init.sh installs base, whose
# systemcleaner removes each series' folder when its pipeline ends (held for a pending study:
# docs/planning.md, "Keeping files from the cleaner"); service.sh installs studyseen
# (tests/e2e/studyseen: a Python service of two entries with trigger "study", `studyseen` and
# `studypair` (requires an AX T1 and an AX T2 series), whose callback always says yes and whose
# worker appends, per run, when it ran and the series it saw under DATA). storescu sends
# series of 4 slices (tests/e2e/make_series.sh):
# (a) three series of one study one after another, 1 s apart (shorter than STABLE_AGE): once
#     the series pipelines (base's anonymizer) ended and Orthanc calls the study stable,
#     studyseen runs once, with all three series, each a link under DATA to its series' files,
#     anonymized in place; the dashboard lists that event with level "study" and 3 series; the
#     series' folders are still there after the study's jobs ran;
# (c) a fourth series of that study, later: the first three's folders were kept (held for the
#     rerunWindow, 1 h by default), so version 2 of the study event, listing the four series,
#     is planned and studyseen runs again with all four series' files (twice in all);
# (b) AX T1 and AX T2 of a second study: studypair runs with those two, and only then is its
#     third series sent (so it ran before the third arrived: a fact, not a timing guess);
# (d) the scheduler stopped (docker compose stop / kill), two series of a third study sent and
#     the study stable in Orthanc, then `./run.sh`: the catch-up plans it, studyseen and
#     studypair each run once with both series.
# `run.sh down` leaves no container (no process) behind.
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
need_programs storescu dump2dcm curl
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

# ---- helpers ----
send() { # send DIR: storescu of DIR's files to Orthanc
  storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$1"/*.dcm ||
    say "FAIL storescu of $1"
}
# study_of UID: Orthanc's id of the study of that StudyInstanceUID, asked until Orthanc answers
# (60 s at most): while the scheduler is stopped, each of the Lua script's posts to it may wait
# up to Orthanc's HttpTimeout (5 s), holding Orthanc's REST API meanwhile (the facts in
# docker/orthanc/dcm-processor.lua), so one request can outlast curl's 10 s (seen with Docker:
# the lookup right after the third study was sent came back empty)
study_of() {
  local id="" deadline=$((SECONDS + 60))
  while [ -z "$id" ] && [ $SECONDS -lt $deadline ]; do
    id="$(orthanc /tools/lookup -X POST -d "$1" | "$py" -c '
import json, sys
print(([r["ID"] for r in json.load(sys.stdin) if r["Type"] == "Study"] + [""])[0])' 2>/dev/null)"
    [ -n "$id" ] || sleep 1
  done
  echo "$id"
}
seen_file() { echo "$BASEDIR/data/studyseen/$1/$2.jsonl"; } # seen_file JOBNAME STUDYID
runs() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; } # runs FILE: the jobs it recorded
summary() { # summary FILE [N]: "description instances files | ..." of the Nth run (default 1)
  "$py" -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1])
print(" | ".join("%s %s %s" % (s["SeriesDescription"], s["instances"], s["files"])
                 for s in sorted(d["series"], key=lambda s: s["SeriesDescription"])))' "$1" "${2:-1}"
}
study_events() { # study_events STUDYID: "state seriesCount decisions" of each study event, oldest first
  dash '/api/events?perPage=100' | "$py" -c '
import json, sys
for x in reversed(json.load(sys.stdin)["events"]):
    if x["level"] == "study" and x["studyId"] == sys.argv[1]:
        print(x["state"], x["seriesCount"], x["error"],
              " ".join(sorted("%s:%s" % (d["jobName"], d["decision"]) for d in x["decisions"])))' "$1"
}
stable_study() { orthanc "/studies/$1" | grep -q '"IsStable" : true'; }
descs=("AX T1" "AX T2" "FLAIR")
make_study() { # make_study DIR PATIENT N: N 4-slice series of a new study (descs), as DIR1..DIRN; prints its UID
  local uid k
  uid="2.25.$(date +%s%N)$$"
  for ((k = 1; k <= $3; k++)); do
    STUDY_UID="$uid" SERIES_NUMBER=$k tests/e2e/make_series.sh "$1$k" 4 "${descs[k - 1]}" "$2" >/dev/null
  done
  echo "$uid"
}
send_apart() { # send_apart DIR...: each sent 1 s after the one before
  send "$1"
  shift
  while [ $# -gt 0 ]; do
    sleep 1
    send "$1"
    shift
  done
}

# ---- (a) three series of one study, 1 s apart: studyseen sees all three ----
# All made before the first is sent, so that the pauses between the series stay well below
# STABLE_AGE even on a loaded machine: a longer one lets Orthanc call the study stable with the
# series so far, which is then (rightly) planned, and again with all three (rerun new-series).
study_uid="$(make_study "$tmp/s" E2E-STUDY 3)"
send_apart "$tmp/s1" "$tmp/s2" "$tmp/s3"
study_id="$(study_of "$study_uid")"
check "Orthanc has the study" test -n "$study_id"
seen="$(seen_file studyseen "$study_id")"
if wait_for 180 test -s "$seen"; then
  # the scheduler's later chances to plan it again (series events of the results, the study
  # thread, the catch-up every 2 s, Orthanc's StableStudy after STABLE_AGE) all come and go
  sleep 10
  check "the study job ran once" test "$(runs "$seen")" = 1
  check "with all three series, each a link to its 4 files" \
    test "$(summary "$seen")" = "AX T1 4 4 | AX T2 4 4 | FLAIR 4 4"
  patients() { "$py" -c 'import json,sys; print(" ".join(sorted({s["PatientID"] for s in json.loads(open(sys.argv[1]).readline())["series"]})))' "$seen"; }
  check "the files as the series pipelines left them: anonymized (one pseudonym, not E2E-STUDY)" \
    test "$(patients | wc -w)" = 1 -a "$(patients)" != E2E-STUDY
  check "its dcmpath the study folder of one version" \
    "$py" -c 'import json,re,sys; d=json.loads(open(sys.argv[1]).readline()); sys.exit(not re.fullmatch(r"studies/%s/[0-9a-f]{16}" % sys.argv[2], d["dcmpath"]))' "$seen" "$study_id"
  # what base's cleaner put off stays held after the study's jobs ran, for the entries'
  # rerunWindow (1 h by default), so that a late series reruns the study with every file
  check "the series' folders, held, kept after the study's jobs ran (rerunWindow)" \
    test "$(ls -A "$BASEDIR/data/dicom" | wc -l)" = 3
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
      [(x["state"], x["seriesCount"]) for x in e if x["level"] == "study" and x["state"] == "planned" and any(d["jobName"] == "studyseen" and d["decision"] == "scheduled" for d in x["decisions"])])'
}
check "the dashboard: 3 series events, one study event planning studyseen with 3 series" \
  test "$(study_rows)" = "3 [('planned', 3)]"
[ $failures -eq 0 ] || study_rows

# ---- (c) a fourth series of the same study, later: version 2 of the study event ----
STUDY_UID="$study_uid" SERIES_NUMBER=4 tests/e2e/make_series.sh "$tmp/s4" 4 DWI E2E-STUDY >/dev/null
send "$tmp/s4"

# ---- (b) studypair (requires AX T1 and AX T2) runs before the third series is sent ----
# A study of its own: its third series is sent only once studypair's record is there, so
# "studypair ran before the third series arrived" is a fact, not a timing guess. (Not study
# (a): STABLE_AGE is Orthanc's StableAge too, so by the time studypair runs Orthanc has called
# the study of two series stable, and studyseen runs with those two as well; the C test
# test_study_events gives Orthanc a longer StableAge than the scheduler for that.)
pair_uid="$(make_study "$tmp/p" E2E-PAIR 3)"
send_apart "$tmp/p1" "$tmp/p2"
pair_id="$(study_of "$pair_uid")"
check "Orthanc has the second study" test -n "$pair_id"
pair_seen="$(seen_file studypair "$pair_id")"
if wait_for 180 test -s "$pair_seen"; then
  sent_third="$(date +%s.%N)"
  send "$tmp/p3"
  check "studypair ran with AX T1 and AX T2, each a link to its 4 files" \
    test "$(summary "$pair_seen")" = "AX T1 4 4 | AX T2 4 4"
  check "studypair ran before the third series was sent" \
    "$py" -c 'import json,sys; sys.exit(not json.loads(open(sys.argv[1]).readline())["ran"] < float(sys.argv[2]))' "$pair_seen" "$sent_third"
  three() { test "$(orthanc "/studies/$pair_id" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["Series"]))')" = 3; }
  check "Orthanc then has the study's third series" wait_for 30 three
else
  say "FAIL studypair did not run within 180 s"
  failures=$((failures + 1))
  dump_logs
fi

# ---- (c), continued ----
# version_of SERIES STUDYID: "state version descriptions | entry:verdict ... | error" of each
# study event of the study whose plan lists SERIES series, oldest first
version_of() {
  local id
  for id in $(dash '/api/events?perPage=100' | "$py" -c '
import json, sys
print(" ".join(x["id"] for x in reversed(json.load(sys.stdin)["events"])
               if x["level"] == "study" and x["studyId"] == sys.argv[1] and x["seriesCount"] == int(sys.argv[2])))' "$2" "$1"); do
    dash "/api/events/$id" | "$py" -c '
import json, sys
e = json.load(sys.stdin)
st = e["plan"]["study"]
print(e["state"], st["version"], ",".join(sorted(s.get("SeriesDescription", "?") for s in st["series"])), "|",
      " ".join(sorted("%s:%s" % (d["jobName"], d["decision"]) for d in st["decisions"])), "|",
      e["error"])'
  done
}
v1="$("$py" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["dcmpath"].rsplit("/", 1)[1])' "$seen" 2>/dev/null)"
ran_again() { [ "$(runs "$seen")" -ge 2 ]; }
if wait_for 120 ran_again; then
  # the first three series' files were kept for the rerunWindow: version 2 is planned with all
  # four (docs/planning.md, "Keeping files from the cleaner")
  check "studyseen ran again, with all four series, each a link to its 4 files" \
    test "$(summary "$seen" 2)" = "AX T1 4 4 | AX T2 4 4 | DWI 4 4 | FLAIR 4 4"
  check "in the study folder of version 2, another than version 1's" \
    "$py" -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[1]); sys.exit(not d["dcmpath"].startswith("studies/") or d["dcmpath"].endswith("/" + sys.argv[2]))' "$seen" "$v1"
  version_of 4 "$study_id" >"$tmp/version2.txt"
  check "the dashboard: version 2 planned with the 4 series, studyseen's verdict plan" \
    grep -q "^planned [0-9a-f]\{16\} AX T1,AX T2,DWI,FLAIR | .*studyseen:plan.* | $" "$tmp/version2.txt"
  [ $failures -eq 0 ] || cat "$seen" "$tmp/version2.txt"
else
  say "FAIL studyseen did not run again for the fourth series within 120 s"
  failures=$((failures + 1))
  version_of 4 "$study_id"
fi

# ---- (d) the scheduler stopped while a study arrives and completes: caught up ----
if [ "$mode" = docker ]; then
  check "scheduler stopped" bash -c "docker-compose stop scheduler >/dev/null 2>&1 || docker compose stop scheduler >/dev/null 2>&1"
else
  check "scheduler stopped" kill -TERM "$(cat "$BASEDIR/run/scheduler.pid")"
  wait_for 20 bash -c "! kill -0 $(cat "$BASEDIR/run/scheduler.pid") 2>/dev/null"
fi
down_uid="$(make_study "$tmp/d" E2E-DOWN 2)"
send_apart "$tmp/d1" "$tmp/d2"
down_id="$(study_of "$down_uid")"
check "Orthanc has the third study" test -n "$down_id"
check "Orthanc calls it stable while the scheduler is down" wait_for 90 stable_study "$down_id"
check "run.sh starts the scheduler again" ./run.sh
down_seen="$(seen_file studyseen "$down_id")"
if wait_for 180 test -s "$down_seen"; then
  sleep 10 # the catch-up's and the study thread's later chances to plan it again
  check "caught up: studyseen ran once" test "$(runs "$down_seen")" = 1
  check "with both series, each a link to its 4 files" test "$(summary "$down_seen")" = "AX T1 4 4 | AX T2 4 4"
  check "caught up: studypair ran once, with both" \
    test "$(runs "$(seen_file studypair "$down_id")")/$(summary "$(seen_file studypair "$down_id")")" = "1/AX T1 4 4 | AX T2 4 4"
else
  say "FAIL the study completed while the scheduler was down was not planned within 180 s"
  failures=$((failures + 1))
  dump_logs
fi

check "studyseen ran twice for the first study, no more" test "$(runs "$seen")" = 2

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
