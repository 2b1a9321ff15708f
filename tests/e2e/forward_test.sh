#!/usr/bin/env bash
# forward_test.sh -- what Orthanc forwards and whose C-STORE it accepts, through a real Orthanc
# configured by scripts/native/orthanc-config.sh (the configuration both modes use) with the
# stack's Lua script, real storescu senders and a real storescp as the destination (the PACS):
# - an instance carrying the pipeline's DCM-PROCESSOR block (ActionSource dcm-processor,
#   ActionDestination the PACS) sent by C-STORE from an unknown AE title is not forwarded;
# - the same kind of instance stored through REST with Orthanc's login (as storageManager
#   stores the pipeline's results) is forwarded; stored through REST by another user, it is not;
# - with ORTHANC_ALLOWED_MODALITIES set, a C-STORE from another AE title is refused and one from
#   the listed AE title and address accepted.
# Usage: tests/e2e/forward_test.sh. DCMP_KEEP=1 keeps the temp folder. Exit 0 passed, 1 failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/scripts/native/common.sh" # dcmp_pick_port

test_name="forward_test"
. "$root/tests/e2e/check.sh" # say, check, $failures
not() { ! "$@"; }
for p in Orthanc storescu storescp dump2dcm curl; do
  command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { say "FAIL $p is not installed"; exit 1; }
done
orthanc_bin="$(command -v Orthanc || echo /usr/sbin/Orthanc)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-forward.XXXXXX")"
orthanc_pid="" scp_pid=""
finish() {
  [ -z "$orthanc_pid" ] || { kill -TERM "$orthanc_pid" 2>/dev/null; wait "$orthanc_pid" 2>/dev/null; }
  [ -z "$scp_pid" ] || { kill -TERM "$scp_pid" 2>/dev/null; wait "$scp_pid" 2>/dev/null; }
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ]; then
    say "kept $tmp"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT

dcmp_pick_port ORTHANC_HTTP_PORT
dcmp_pick_port ORTHANC_DICOM_PORT
dcmp_pick_port SCP_PORT
export ORTHANC_REST_USERNAME=pipeline ORTHANC_REST_PASSWORD="pw-$RANDOM$RANDOM"
export DICOM_MODALITIES="PACS=PACSAET@127.0.0.1:$SCP_PORT"
# no scheduler listens there: the Lua script's posts fail fast and are only logged
dcmp_pick_port SCHEDULER_PORT
export SCHEDULER_HOST=127.0.0.1 ORTHANC_HTTP_TIMEOUT=1 STABLE_AGE=1
rest="http://127.0.0.1:$ORTHANC_HTTP_PORT"

mkdir -p "$tmp/received"
storescp -aet PACSAET -od "$tmp/received" "$SCP_PORT" >"$tmp/storescp.log" 2>&1 &
scp_pid=$!

# one instance with the DCM-PROCESSOR block naming the PACS; SOP UID unique per call
n_made=0
make_instance() { # make_instance FILE PATIENT
  n_made=$((n_made + 1))
  local uid="2.25.$(date +%s%N)$$$n_made"
  cat >"$tmp/i.txt" <<EOD
(0002,0002) UI =SecondaryCaptureImageStorage
(0002,0003) UI [$uid.1]
(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [$uid.1]
(0008,0060) CS [OT]
(0010,0010) PN [Identifiable^Patient]
(0010,0020) LO [$2]
(0020,000d) UI [$uid.2]
(0020,000e) UI [$uid.3]
(0405,0010) LO [DCM-PROCESSOR]
(0405,1005) LO [dcm-processor]
(0405,1007) LO [PACS]
EOD
  dump2dcm +te "$tmp/i.txt" "$1" >/dev/null
}

start_orthanc() { # start_orthanc NAME: writes the configuration and starts Orthanc
  mkdir -p "$tmp/$1"
  bash "$root/scripts/native/orthanc-config.sh" "$tmp/$1" || return 1
  "$orthanc_bin" --logfile="$tmp/$1/orthanc.log" "$tmp/$1/orthanc.json" &
  orthanc_pid=$!
  local k
  for ((k = 0; k < 100; k++)); do
    curl -s -f -m 2 -u "$ORTHANC_REST_USERNAME:$ORTHANC_REST_PASSWORD" "$rest/system" >/dev/null &&
      return 0
    sleep 0.1
  done
  say "Orthanc did not start: $(tail -n 5 "$tmp/$1/orthanc.log")"
  return 1
}
stop_orthanc() {
  kill -TERM "$orthanc_pid" 2>/dev/null
  wait "$orthanc_pid" 2>/dev/null
  orthanc_pid=""
}

# received_patient ID: the storescp received an instance of this patient
received_patient() { grep -rqa -- "$1" "$tmp/received" 2>/dev/null; }
wait_for() { # wait_for SECONDS CMD...
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}
stored_patient() { # stored_patient ID: Orthanc holds an instance of this patient
  curl -s -f -m 5 -u "$ORTHANC_REST_USERNAME:$ORTHANC_REST_PASSWORD" -X POST "$rest/tools/find" \
    -d "{\"Level\":\"Instance\",\"Query\":{\"PatientID\":\"$1\"}}" | grep -q '"'
}

# ---- without ORTHANC_ALLOWED_MODALITIES: any node may store, only the pipeline's is forwarded
start_orthanc open || exit 1

make_instance "$tmp/injected.dcm" INJECTED-1
check "storescu from an unknown AE title is accepted (no ORTHANC_ALLOWED_MODALITIES)" \
  storescu -aet INTRUDER -aec ORTHANC 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp/injected.dcm"
make_instance "$tmp/own.dcm" PIPELINE-1
check "the pipeline's result stored through REST with the login" \
  curl -s -f -m 10 -u "$ORTHANC_REST_USERNAME:$ORTHANC_REST_PASSWORD" -X POST \
  --data-binary @"$tmp/own.dcm" "$rest/instances" -o /dev/null
check "the pipeline's result is forwarded to the PACS" wait_for 20 received_patient PIPELINE-1
check "the injected instance was stored" stored_patient INJECTED-1
check "the injected instance (C-STORE from INTRUDER) is not forwarded" \
  not received_patient INJECTED-1
check "Orthanc's log says why" grep -q "stored by DicomProtocol from INTRUDER@127.0.0.1" \
  "$tmp/open/orthanc.log"
# Orthanc's stable-series check: the pipeline's result is not planned again, the injected
# series is posted to the scheduler as any arrival (no scheduler listens: the post fails)
log_has() { grep -q "$1" "$tmp/open/orthanc.log"; }
check "the pipeline's result series is not posted again" \
  wait_for 20 log_has "came from the pipeline: not posted"
check "the injected series is posted as an arrival" \
  wait_for 20 log_has "POST /stable-series for series .* failed"
check "only one series counted as the pipeline's" \
  test "$(grep -c "came from the pipeline" "$tmp/open/orthanc.log")" = 1
stop_orthanc

# ---- with a second REST user: only the configured login's uploads are the pipeline's
# (Orthanc's RegisteredUsers gets one more user than the stack configures)
sed -i "s/\"RegisteredUsers\": {/\"RegisteredUsers\": {\"other\": \"other-pw\", /" "$tmp/open/orthanc.json"
"$orthanc_bin" --logfile="$tmp/open/orthanc2.log" "$tmp/open/orthanc.json" &
orthanc_pid=$!
wait_for 10 curl -s -f -m 2 -u other:other-pw "$rest/system" -o /dev/null
make_instance "$tmp/other.dcm" OTHERUSER-1
check "an instance with the block stored through REST by another user" \
  curl -s -f -m 10 -u other:other-pw -X POST --data-binary @"$tmp/other.dcm" "$rest/instances" -o /dev/null
make_instance "$tmp/own2.dcm" PIPELINE-2
curl -s -f -m 10 -u "$ORTHANC_REST_USERNAME:$ORTHANC_REST_PASSWORD" -X POST \
  --data-binary @"$tmp/own2.dcm" "$rest/instances" -o /dev/null
check "the pipeline's next result is forwarded" wait_for 20 received_patient PIPELINE-2
check "the other REST user's instance is not forwarded" not received_patient OTHERUSER-1
stop_orthanc

# ---- with ORTHANC_ALLOWED_MODALITIES: only the listed sender may store
export ORTHANC_ALLOWED_MODALITIES="SCANNER@127.0.0.1"
start_orthanc closed || exit 1
make_instance "$tmp/refused.dcm" REFUSED-1
check "storescu from another AE title is refused" \
  bash -c "! storescu -aet INTRUDER -aec ORTHANC 127.0.0.1 $ORTHANC_DICOM_PORT '$tmp/refused.dcm' 2>'$tmp/refused.log'"
check "and nothing of it is stored" not stored_patient REFUSED-1
make_instance "$tmp/allowed.dcm" ALLOWED-1
check "storescu from the listed AE title and address is accepted" \
  storescu -aet SCANNER -aec ORTHANC 127.0.0.1 "$ORTHANC_DICOM_PORT" "$tmp/allowed.dcm"
check "and stored" stored_patient ALLOWED-1
check "the destination PACS may not store (not listed)" \
  bash -c "! storescu -aet PACSAET -aec ORTHANC 127.0.0.1 $ORTHANC_DICOM_PORT '$tmp/refused.dcm' 2>/dev/null"
make_instance "$tmp/own3.dcm" PIPELINE-3
curl -s -f -m 10 -u "$ORTHANC_REST_USERNAME:$ORTHANC_REST_PASSWORD" -X POST \
  --data-binary @"$tmp/own3.dcm" "$rest/instances" -o /dev/null
check "the pipeline's result is still forwarded" wait_for 20 received_patient PIPELINE-3
stop_orthanc

export ORTHANC_ALLOWED_MODALITIES="SCANNER@scanner.example"
check "a host name in ORTHANC_ALLOWED_MODALITIES is refused, named" \
  bash -c "bash '$root/scripts/native/orthanc-config.sh' '$tmp/bad' 2>&1 | grep -q 'SCANNER@scanner.example'"

export ORTHANC_ALLOWED_MODALITIES="SCANNER@127.0.0.1" DICOM_MODALITIES="sender-1=X@127.0.0.1:104"
check "a destination named like an allowed sender (sender-N) is refused, named" \
  bash -c "bash '$root/scripts/native/orthanc-config.sh' '$tmp/bad' 2>&1 | grep -q 'sender-1=X'"

[ $failures -eq 0 ] && say "passed" || say "$failures check(s) failed"
[ $failures -eq 0 ]
