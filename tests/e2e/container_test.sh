#!/usr/bin/env bash
# container_test.sh -- container jobs in the chain of a real native stack (issue 13): run.sh
# brings the stack up in a temp BASEDIR on free loopback ports with the base services; a test
# service is installed whose entries are three images built here FROM the base image, one per
# interface, all running one perl script that copies the first DICOM file of its input with a
# new SOPInstanceUID and SeriesInstanceUID into its output: `ctrseg` (`dcmp`: the series under
# /data, result.json written too), `ctrmod` (`mercure`: MERCURE_IN_DIR/OUT_DIR) and `ctrmap`
# (`monai`: a MAP whose entrypoint fails, so it runs only through its manifest's command); and
# whose `ctrreport` entry, a Python worker that depends on ctrseg, records the added_params it
# got; storescu sends python3-pydicom's CT5N. Checked: the chain dicomAnonymizer -> ctrseg ->
# ctrreport -> storageManager ran; ctrreport saw result.json's keys (winning over its
# callback's) and the DICOM storage entry; storageManager stored each image's DICOM in Orthanc
# (found by its new SOPInstanceUID through the REST API), ctrseg's with the DCM-PROCESSOR
# private block.
#
# Usage: tests/e2e/container_test.sh
# Environment: DCMP_BIN (the programs; default build/bin), DCMP_IMAGE_TAG (the test images'
# tag), DCMP_REQUIRE_DOCKER=1 (fail instead of skipping when no engine answers), DCMP_KEEP=1.
# Exit status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
test_name="container_test"
. "$root/tests/e2e/check.sh" # say, check, $failures, wait_for, need_docker
need_docker
for p in storescu dcmdump redis-cli curl; do
  command -v "$p" >/dev/null || { say "FAIL $p is not installed (scripts/packages/test.txt)"; exit 1; }
done
py=/usr/bin/python3
ct5n=/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N
[ -d "$ct5n" ] || { say "FAIL $ct5n missing: install python3-pydicom"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-ctr-e2e.XXXXXX")"
. "$root/scripts/native/common.sh" # dcmp_pick_port, dcmp_curl_login
export BASEDIR="$tmp/base"
pick_stack_ports
export STABLE_AGE=1 LOG_LEVEL=info INIT_SERVICES=base DCMP_BIN="${DCMP_BIN:-$root/build/bin}"
(umask 077 && cp .env.example "$tmp/env")
export DCMP_ENV="$tmp/env"
mkdir -m 700 "$BASEDIR"
image="dcmp-ctr-e2e:${DCMP_IMAGE_TAG:-test}"
mercure_image="dcmp-ctr-e2e-mercure:${DCMP_IMAGE_TAG:-test}"
map_image="dcmp-ctr-e2e-map:${DCMP_IMAGE_TAG:-test}"

finish() {
  local rc=$?
  [ "${stack_up:-0}" = 0 ] || ./run.sh down --native >"$tmp/down-at-exit.log" 2>&1 || true
  if [ $failures -gt 0 ] || [ "${DCMP_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    say "kept $tmp (logs: $BASEDIR/logs)"
  else
    rm -rf --one-file-system "$tmp"
  fi
}
trap finish EXIT

# ---- the image: FROM the base image (scripts/base-image.sh makes it when missing) ----
docker image inspect debian:bookworm-slim >/dev/null 2>&1 || bash scripts/base-image.sh >"$tmp/base-image.log" 2>&1 ||
  { say "FAIL scripts/base-image.sh (see $tmp/base-image.log)"; exit 1; }
mkdir "$tmp/image"
cat >"$tmp/image/entry.pl" <<'EOF'
# One script for the three interfaces (docs/containers.md): mercure's MERCURE_IN_DIR and
# MERCURE_OUT_DIR, a MAP's HOLOSCAN_INPUT_PATH and HOLOSCAN_OUTPUT_PATH, or dcmp's kwargs in
# DCMP_KWARGS with DATA at /data (read-only) and /out. Copies the input's first DICOM file with
# a new SOPInstanceUID and SeriesInstanceUID (the last digit of each moved by 1, 2 or 3 by
# interface: same length, so no element length changes, and three new instances).
use strict;
use warnings;
my ($in, $out, $shift, $iface);
if (defined $ENV{MERCURE_IN_DIR}) {
  ($in, $out, $shift, $iface) = ($ENV{MERCURE_IN_DIR}, $ENV{MERCURE_OUT_DIR}, 2, 'mercure');
} elsif (defined $ENV{HOLOSCAN_INPUT_PATH}) {
  ($in, $out, $shift, $iface) = ($ENV{HOLOSCAN_INPUT_PATH}, $ENV{HOLOSCAN_OUTPUT_PATH}, 3, 'monai');
} else {
  my ($rel) = ($ENV{DCMP_KWARGS} // '') =~ /"dcmpath":"([^"\\]+)"/ or die "no headers.dcmpath\n";
  die "dcmpath $rel leaves /data\n" if $rel =~ /\.\./;
  ($in, $out, $shift, $iface) = ("/data/$rel", '/out', 1, 'dcmp');
}
my @files;
sub walk {
  my $d = shift;
  opendir(my $h, $d) or die "$d: $!\n";
  for my $e (sort grep { !/^\.\.?$/ } readdir $h) {
    -d "$d/$e" ? walk("$d/$e") : push @files, "$d/$e";
  }
}
walk($in);
my $b;
for my $f (@files) {
  open(my $fh, '<:raw', $f) or die "$f: $!\n";
  my $data = do { local $/; <$fh> };
  if (length($data) > 132 && substr($data, 128, 4) eq 'DICM') { $b = $data; last; }
}
defined $b or die "no DICOM file under $in\n";
# explicit VR (tag, "UI", 2-byte length) and implicit VR (tag, 4-byte length): the value at +8
for my $tag ("\x02\x00\x03\x00", "\x08\x00\x18\x00", "\x20\x00\x0e\x00") {
  my $i = index($b, $tag, 132);
  next if $i < 0;
  my $len = substr($b, $i + 4, 2) eq 'UI' ? unpack('v', substr($b, $i + 6, 2)) : unpack('V', substr($b, $i + 4, 4));
  my $v = substr($b, $i + 8, $len);
  $v =~ /^(.*?)(\d)([\0 ]?)$/ or die "no UID at $i\n";
  substr($b, $i + 8, $len) = $1 . (($2 + $shift) % 10) . $3;
}
mkdir "$out/seg" or die "$out/seg: $!\n";
open(my $o, '>:raw', "$out/seg/ctr.dcm") or die "$out/seg/ctr.dcm: $!\n";
print $o $b;
close $o or die "$out/seg/ctr.dcm: $!\n";
if ($iface eq 'dcmp') {
  open(my $r, '>', "$out/result.json") or die "$out/result.json: $!\n";
  print $r '{"score": 7, "from": "ctrseg"}';
  close $r;
}
print "$iface: wrote $out/seg/ctr.dcm\n";
EOF
printf 'FROM debian:bookworm-slim\nCOPY entry.pl /entry.pl\nENTRYPOINT ["/usr/bin/perl", "/entry.pl"]\n' \
  >"$tmp/image/Dockerfile"
for img in "$image" "$mercure_image"; do
  docker build -q -t "$img" "$tmp/image" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; say "FAIL docker build"; exit 1; }
done
# the MAP: the script runs only through its manifest's command (its entrypoint fails)
cat >"$tmp/image/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
COPY entry.pl /opt/holoscan/app/entry.pl
RUN mkdir -p /etc/holoscan /var/holoscan && echo '{"apiVersion": "1.0.0", "command": "/usr/bin/perl /opt/holoscan/app/entry.pl", "input": {"path": "input/", "formats": null}, "output": {"path": "output/", "format": null}, "timeout": 0}' >/etc/holoscan/app.json
ENTRYPOINT ["/bin/false"]
EOF
docker build -q -t "$map_image" "$tmp/image" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; say "FAIL docker build"; exit 1; }

# ---- the service: the container entry, then a Python job after it ----
svc="$tmp/ctrchain"
mkdir -p "$svc/registry" "$svc/module"
# DATA is owner-only: the image runs as its owner (docs/containers.md, "Strict defaults")
cat >"$svc/registry/settings.json" <<EOF
[{"jobName": "ctrseg", "callback": "ctrchain.inject", "timeout": "5m",
  "container": {"image": "$image", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrmod", "callback": "ctrchain.yes", "timeout": "5m",
  "container": {"image": "$mercure_image", "interface": "mercure", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrmap", "callback": "ctrchain.yes", "timeout": "5m",
  "container": {"image": "$map_image", "interface": "monai", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrreport", "worker": "ctrchain.report", "callback": "ctrchain.yes",
  "dependsOn": "ctrseg", "timeout": "5m"}]
EOF
cat >"$svc/registry/__init__.py" <<'EOF'
def inject(jobName, headers, params, added_params, **kwargs):
    return True, {"score": 0, "planned": "by the callback"}


def yes(**kwargs):
    return True
EOF
cat >"$svc/module/__init__.py" <<'EOF'
import json
import os


def report(jobName, headers, params, added_params, **kwargs):
    seg = added_params.get("ctrseg", {})
    out = os.path.join(os.environ["DATA"], "ctrchain", headers["seriesId"] + ".json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(seg, f)
    return {"seen": seg}
EOF

# ---- up ----
stack_up=1
if ! ./run.sh --native >"$tmp/run.log" 2>&1; then
  cat "$tmp/run.log"
  say "FAIL run.sh --native"
  exit 1
fi
ORTHANC_REST_USERNAME="$(sed -n 's/^ORTHANC_REST_USERNAME=//p' "$tmp/env" | tail -n 1)"
ORTHANC_REST_PASSWORD="$(sed -n 's/^ORTHANC_REST_PASSWORD=//p' "$tmp/env" | tail -n 1)"
orthanc() { # orthanc PATH [CURL ARGS...]: Orthanc's REST API with the stack's login (on stdin)
  dcmp_curl_login "$ORTHANC_REST_USERNAME" "$ORTHANC_REST_PASSWORD" |
    curl -K - -s -f -m 10 "${@:2}" "http://127.0.0.1:$ORTHANC_HTTP_PORT$1"
}
check "service.sh install ctrchain (a container entry and a Python job)" \
  ./service.sh install ctrchain -p "$svc"
check "service.sh validate ctrchain: the image is stored by the engine" \
  bash -c "./service.sh validate ctrchain | grep -q 'container image $image (stored by the docker engine'"

# ---- a series in ----
storescu -aec "${ORTHANC_AET:-ORTHANC}" 127.0.0.1 "$ORTHANC_DICOM_PORT" "$ct5n"/* ||
  say "FAIL storescu of CT5N"
uid="$(dcmdump +P 0020,000e "$ct5n/2062" | sed -E 's/.*\[(.*)\].*/\1/' | head -1)"
sid="$(orthanc /tools/lookup -X POST -d "$uid" |
  "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Series"][0])')"
rec="$BASEDIR/data/ctrchain/$sid.json"
if ! check "the Python job after the container ran" wait_for 180 test -s "$rec"; then
  tail -n 20 "$BASEDIR"/logs/*.log
  exit 1
fi
json() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
check "it got result.json's keys, which won over the callback's" \
  test "$(json "$rec" '(d["score"], d["from"], d["planned"])')" = "(7, 'ctrseg', 'by the callback')"
dcm="$(json "$rec" 'd["storage"][0]["path"] if d["storage"][0]["type"] == "dicom" else ""')"
check "and the container's DICOM as a storage entry" test -f "$BASEDIR/data/$dcm"
new="$(dcmdump +P 0008,0018 "$BASEDIR/data/$dcm" 2>/dev/null | sed -E 's/.*\[(.*)\].*/\1/' | head -1)"
check "the container wrote a DICOM file with a SOPInstanceUID" test -n "$new"
# stored: Orthanc knows the new SOPInstanceUID, with the private block storageManager sets
stored() { orthanc /tools/lookup -X POST -d "$new" | grep -q '"Type" : "Instance"'; }
check "storageManager stored the container's DICOM in Orthanc" wait_for 120 stored
inst="$(orthanc /tools/lookup -X POST -d "$new" |
  "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Instance"][0])' 2>/dev/null)"
tags="$(orthanc "/instances/$inst/simplified-tags" 2>/dev/null)"
check "with the DCM-PROCESSOR private block (ActionSource, ActionType dicom)" \
  test "$(printf '%s' "$tags" | "$py" -c 'import json,sys; t=json.load(sys.stdin); print(t.get("ActionSource"), t.get("ActionType"))')" = "dcm-processor dicom"
# the mercure module's and the MAP's DICOM too: three files written (the MAP's only through its
# manifest's command: its entrypoint fails), each stored in Orthanc
outs=("$BASEDIR"/data/containers/*/out/seg/ctr.dcm)
check "the three images each wrote a DICOM file" test "${#outs[@]}" = 3
found() { orthanc /tools/lookup -X POST -d "$1" | grep -q '"Type" : "Instance"'; }
for f in "${outs[@]}"; do
  sop="$(dcmdump +P 0008,0018 "$f" 2>/dev/null | sed -E 's/.*\[(.*)\].*/\1/' | head -1)"
  job="${f#"$BASEDIR"/data/containers/}"
  check "storageManager stored the DICOM of job ${job%%/*} ($sop) in Orthanc" wait_for 120 found "$sop"
done
tags=("$BASEDIR"/data/containers/*/in/*.tags)
check "the mercure module was given .tags files beside its inputs" test -f "${tags[0]}"
[ $failures -eq 0 ] || tail -n 20 "$BASEDIR"/logs/*.log
[ $failures -eq 0 ]
