#!/usr/bin/env bash
# container_test.sh -- container jobs in the chain of a real native stack (issue 13): run.sh
# brings the stack up in a temp BASEDIR on free loopback ports with the base services; a test
# service is installed whose entries are images built here FROM the base image, one per
# interface with one shared first layer installing Debian's dcmtk, all running one perl script
# that copies the first DICOM file of its input into its output and gives it a new
# SOPInstanceUID and SeriesInstanceUID with DCMTK's dcmodify (read back with dcmdump), and
# writes result.json (the new SOPInstanceUID, the .tags files it was given): `ctrseg` (`dcmp`: the series under /data),
# `ctrkeep` (the same image with `"store": false`), `ctrmod` (`mercure`: MERCURE_IN_DIR/OUT_DIR)
# and `ctrmap` (`monai`: a MAP whose entrypoint fails, so it runs only through its manifest's
# command); and whose `ctrreport` entry, a Python worker that depends on all four, records the
# added_params it got and whether their output files were there; storescu sends
# python3-pydicom's CT5N. Checked: ctrreport saw result.json's keys (ctrseg's winning over its
# callback's), a DICOM storage entry for each image but ctrkeep, each image's output file, and
# the mercure module's .tags files (one per DICOM file); storageManager stored the DICOM of
# ctrseg, ctrmod and ctrmap in Orthanc (found by the new SOPInstanceUIDs through the REST API),
# ctrseg's with the DCM-PROCESSOR private block, and not ctrkeep's (still in its result's
# files); systemcleaner removed the four jobs' folders DATA/containers/<job id>
# (docs/containers.md, "Life cycle of a job's folder").
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
need_programs storescu dcmdump redis-cli curl
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
# DCMP_KWARGS with DATA at /data (read-only) and /out. Copies the input's first DICOM (Part 10)
# file to the output and makes it new with DCMTK: dcmodify gives the copy a new SOPInstanceUID
# (the meta header's too) and SeriesInstanceUID, dcmdump reads them back (checked new, and
# matching in the meta header); result.json names the new SOPInstanceUID and counts the input's DICOM and .tags
# files. DCMTK's tools are run from argument lists, never through a shell.
use strict;
use warnings;
my ($in, $out, $iface);
if (defined $ENV{MERCURE_IN_DIR}) {
  ($in, $out, $iface) = ($ENV{MERCURE_IN_DIR}, $ENV{MERCURE_OUT_DIR}, 'mercure');
} elsif (defined $ENV{HOLOSCAN_INPUT_PATH}) {
  ($in, $out, $iface) = ($ENV{HOLOSCAN_INPUT_PATH}, $ENV{HOLOSCAN_OUTPUT_PATH}, 'monai');
} else {
  my ($rel) = ($ENV{DCMP_KWARGS} // '') =~ /"dcmpath":"([^"\\]+)"/ or die "no headers.dcmpath\n";
  die "dcmpath $rel leaves /data\n" if $rel =~ /\.\./;
  ($in, $out, $iface) = ("/data/$rel", '/out', 'dcmp');
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
my $src;
for my $f (@files) {
  open(my $fh, '<:raw', $f) or die "$f: $!\n";
  my $head = '';
  read($fh, $head, 132);
  if (length($head) == 132 && substr($head, 128, 4) eq 'DICM') { $src = $f; last; }
}
defined $src or die "no DICOM file under $in\n";
# uid FILE TAG: the UID dcmdump prints for TAG in FILE (its first match)
sub uid {
  my ($file, $tag) = @_;
  open(my $p, '-|', 'dcmdump', '-q', '+P', $tag, $file) or die "dcmdump: $!\n";
  my ($v) = map { /\[([0-9.]+)\]/ ? $1 : () } <$p>;
  close $p or die "dcmdump +P $tag $file failed\n";
  defined $v or die "$file: no $tag\n";
  return $v;
}
my $old = uid($src, '0008,0018');
my $dst = "$out/seg/ctr.dcm";
mkdir "$out/seg" or die "$out/seg: $!\n";
open(my $i, '<:raw', $src) or die "$src: $!\n";
open(my $o, '>:raw', $dst) or die "$dst: $!\n";
print $o do { local $/; <$i> };
close $o or die "$dst: $!\n";
system('dcmodify', '-q', '-nb', '-gin', '-gse', $dst) == 0 or die "dcmodify -gin -gse $dst failed\n";
my $sop = uid($dst, '0008,0018');
die "dcmodify kept SOPInstanceUID $old\n" if $sop eq $old;
die "meta header's MediaStorageSOPInstanceUID is not $sop\n" if uid($dst, '0002,0003') ne $sop;
die "dcmodify kept SeriesInstanceUID\n" if uid($dst, '0020,000e') eq uid($src, '0020,000e');
my $ndcm = grep { /\.dcm$/ } @files;
my $ntags = grep { /\.tags$/ } @files;
open(my $r, '>', "$out/result.json") or die "$out/result.json: $!\n";
print $r qq({"score": 7, "from": "$iface", "sop": "$sop", "dcm": $ndcm, "tags": $ntags});
close $r or die "$out/result.json: $!\n";
print "$iface: wrote $dst with DCMTK (SOPInstanceUID $sop)\n";
EOF
# DCMTK from Debian's archive: the same first layer in every image, so the engine builds it
# once and the other images (and later runs) reuse it from its build cache
dcmtk_layer='RUN apt-get update && apt-get install -y --no-install-recommends dcmtk && rm -rf /var/lib/apt/lists/*'
printf 'FROM debian:bookworm-slim\n%s\nCOPY entry.pl /entry.pl\nENTRYPOINT ["/usr/bin/perl", "/entry.pl"]\n' \
  "$dcmtk_layer" >"$tmp/image/Dockerfile"
built=$SECONDS
for img in "$image" "$mercure_image"; do
  docker build -q -t "$img" "$tmp/image" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; say "FAIL docker build"; exit 1; }
done
# the MAP: the script runs only through its manifest's command (its entrypoint fails)
cat >"$tmp/image/Dockerfile" <<EOF
FROM debian:bookworm-slim
$dcmtk_layer
COPY entry.pl /opt/holoscan/app/entry.pl
RUN mkdir -p /etc/holoscan /var/holoscan && echo '{"apiVersion": "1.0.0", "command": "/usr/bin/perl /opt/holoscan/app/entry.pl", "input": {"path": "input/", "formats": null}, "output": {"path": "output/", "format": null}, "timeout": 0}' >/etc/holoscan/app.json
ENTRYPOINT ["/bin/false"]
EOF
docker build -q -t "$map_image" "$tmp/image" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; say "FAIL docker build"; exit 1; }
say "the three test images built in $((SECONDS - built)) s (the DCMTK layer once, or from the cache)"

# ---- the service: four container entries (one not stored), then a Python job after them ----
svc="$tmp/ctrchain"
mkdir -p "$svc/registry" "$svc/module"
# DATA is owner-only: the image runs as its owner (docs/containers.md, "Strict defaults")
cat >"$svc/registry/settings.json" <<EOF
[{"jobName": "ctrseg", "callback": "ctrchain.inject", "timeout": "5m",
  "container": {"image": "$image", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrkeep", "callback": "ctrchain.yes", "timeout": "5m",
  "container": {"image": "$image", "user": "$(id -u):$(id -g)", "store": false}},
 {"jobName": "ctrmod", "callback": "ctrchain.yes", "timeout": "5m",
  "container": {"image": "$mercure_image", "interface": "mercure", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrmap", "callback": "ctrchain.yes", "timeout": "5m",
  "container": {"image": "$map_image", "interface": "monai", "user": "$(id -u):$(id -g)"}},
 {"jobName": "ctrreport", "worker": "ctrchain.report", "callback": "ctrchain.yes",
  "dependsOn": ["ctrseg", "ctrkeep", "ctrmod", "ctrmap"], "timeout": "5m"}]
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
    data = os.environ["DATA"]
    seen = {}
    for name in ("ctrseg", "ctrkeep", "ctrmod", "ctrmap"):
        got = dict(added_params.get(name, {}))
        # the container's folder (its result's deleted) with its output, as this job runs
        got["present"] = [os.path.isfile(os.path.join(data, d, "out", "seg", "ctr.dcm"))
                          for d in got.get("deleted", [])]
        seen[name] = got
    out = os.path.join(data, "ctrchain", headers["seriesId"] + ".json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(seen, f)
    return {"seen": seen}
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
check "service.sh install ctrchain (container entries and a Python job)" \
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
if ! check "the Python job after the containers ran" wait_for 180 test -s "$rec"; then
  tail -n 20 "$BASEDIR"/logs/*.log
  exit 1
fi
json() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
check "it got result.json's keys, which won over the callback's" \
  test "$(json "$rec" '(d["ctrseg"]["score"], d["ctrseg"]["from"], d["ctrseg"]["planned"])')" = "(7, 'dcmp', 'by the callback')"
check "and the container's DICOM as a storage entry" \
  test "$(json "$rec" '[s["type"] for s in d["ctrseg"]["storage"]]')" = "['dicom']"
check "store: false: no storage entry for ctrkeep's DICOM" test "$(json "$rec" 'd["ctrkeep"]["storage"]')" = "[]"
check "the four containers' folders and outputs were there while the job after them ran" \
  test "$(json "$rec" '[d[n]["present"] for n in ("ctrseg", "ctrkeep", "ctrmod", "ctrmap")]')" = "[[True], [True], [True], [True]]"
seg_dir="$(json "$rec" 'd["ctrseg"]["deleted"][0]')"
keep_dir="$(json "$rec" 'd["ctrkeep"]["deleted"][0]')"
new="$(json "$rec" 'd["ctrseg"]["sop"]')"
kept="$(json "$rec" 'd["ctrkeep"]["sop"]')"
check "the four containers wrote DICOM files with four new SOPInstanceUIDs" \
  test "$(json "$rec" 'len({d[n]["sop"] for n in ("ctrseg", "ctrkeep", "ctrmod", "ctrmap") if d[n]["sop"]})')" = 4
# stored: Orthanc knows the new SOPInstanceUID, with the private block storageManager sets
stored() { orthanc /tools/lookup -X POST -d "$1" | grep -q '"Type" : "Instance"'; }
check "storageManager stored the container's DICOM in Orthanc" wait_for 120 stored "$new"
inst="$(orthanc /tools/lookup -X POST -d "$new" |
  "$py" -c 'import json,sys; print([r["ID"] for r in json.load(sys.stdin) if r["Type"]=="Instance"][0])' 2>/dev/null)"
tags="$(orthanc "/instances/$inst/simplified-tags" 2>/dev/null)"
check "with the DCM-PROCESSOR private block (ActionSource, ActionType dicom)" \
  test "$(printf '%s' "$tags" | "$py" -c 'import json,sys; t=json.load(sys.stdin); print(t.get("ActionSource"), t.get("ActionType"))')" = "dcm-processor dicom"
# the mercure module's and the MAP's DICOM too (the MAP's written only through its manifest's
# command: its entrypoint fails), each stored in Orthanc; the module was given .tags files
check "ctrmod and ctrmap listed their DICOM as storage entries" \
  test "$(json "$rec" '[[s["type"] for s in d[n]["storage"]] for n in ("ctrmod", "ctrmap")]')" = "[['dicom'], ['dicom']]"
check "the mercure module was given a .tags file beside each DICOM file" \
  test "$(json "$rec" '(d["ctrmod"]["dcm"] > 0, d["ctrmod"]["tags"] == d["ctrmod"]["dcm"])')" = "(True, True)"
for n in ctrmod ctrmap; do
  sop="$(json "$rec" "d['$n']['sop']")"
  check "storageManager stored the DICOM of $n ($sop) in Orthanc" wait_for 120 stored "$sop"
done
# the life cycle: systemcleaner, after storageManager, removed the four jobs' folders
gone() { [ -n "$1" ] && [ ! -e "$BASEDIR/data/$1" ]; }
check "systemcleaner removed ctrseg's folder $seg_dir" wait_for 120 gone "$seg_dir"
for n in ctrkeep ctrmod ctrmap; do
  dir="$(json "$rec" "d['$n']['deleted'][0]")"
  check "and $n's $dir" wait_for 60 gone "$dir"
done
check "ctrkeep's DICOM is in its result's files" \
  bash -c '"$1/dcm-processor" job "$2" | grep -q "$2/out/seg/ctr.dcm"' _ "$DCMP_BIN" "${keep_dir#containers/}"
# Orthanc answered (a failed lookup is no proof) and knows no such instance
not_stored() { local r; r="$(orthanc /tools/lookup -X POST -d "$1")" || return 1; ! printf '%s' "$r" | grep -q '"Type" : "Instance"'; }
check "and was not stored in Orthanc (store: false)" not_stored "$kept"
[ $failures -eq 0 ] || tail -n 20 "$BASEDIR"/logs/*.log
[ $failures -eq 0 ]
