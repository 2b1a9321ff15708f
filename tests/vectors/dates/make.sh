#!/bin/sh
# make.sh CTP_DIR -- regenerates expected/ with the CTP the original shipped (its DAT.jar in
# CTP_DIR, e.g. a copy of the original's services/base/module/DicomAnonymizerService): the
# inputs of values.txt anonymized under dates.script in UTC, each output as normalize.sh text.
# Needs java (openjdk-17-jre-headless) and DCMTK; the test (tests/services/ctp_dates.sh) does not.
set -eu
ctp=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/make_inputs.sh" "$here/values.txt" "$work/in"
mkdir "$work/out"
(cd "$work" && TZ=UTC java -jar "$ctp/DAT.jar" -in in -out out -da "$here/dates.script" \
  -lut "$here/lut.properties" >/dev/null 2>&1)
rm -rf "$here/expected"
mkdir "$here/expected"
for f in "$work"/in/*.dcm; do
  name=$(basename "$f")
  [ -f "$work/out/$name" ] || { echo "make.sh: CTP wrote no $name" >&2; exit 1; }
  "$here/../anonymizer/normalize.sh" "$work/out/$name" >"$here/expected/$name.txt"
done
echo "$(ls "$here/expected" | wc -l) files"
