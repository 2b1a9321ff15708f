#!/bin/sh
# ctp_dates.sh DCMP_CTP VECTORS -- runs our CTP anonymizer under tests/vectors/dates/dates.script
# on the files make_inputs.sh writes (a date, date-time or time value of values.txt in every
# DA, DT, TM, LO and SH element the script names) and compares normalize.sh of each output with
# what the CTP the original shipped made of the same file (expected/, made by make.sh).
set -eu
tool=$1
vec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$vec/make_inputs.sh" "$vec/values.txt" "$work/in"
mkdir "$work/out"
status=0
count=0
"$tool" --lut "$vec/lut.properties" "$vec/dates.script" "$work/out" "$work"/in/*.dcm 2>"$work/err" ||
  { echo "FAIL dcmp-ctp:"; cat "$work/err"; status=1; }
for exp in "$vec"/expected/*.txt; do
  name=$(basename "$exp" .txt)
  count=$((count + 1))
  if [ ! -f "$work/out/$name" ]; then
    echo "FAIL $name: no output"; status=1; continue
  fi
  if ! "$vec/../anonymizer/normalize.sh" "$work/out/$name" | diff -u "$exp" - >"$work/diff"; then
    echo "FAIL $name ($(grep "^${name%.dcm} " "$vec/values.txt" | cut -d' ' -f2-)):"
    cat "$work/diff"; status=1; continue
  fi
done
[ "$count" -eq "$(grep -vc '^#' "$vec/values.txt")" ] || { echo "FAIL expected/ and values.txt differ"; status=1; }
if [ $status -eq 0 ]; then echo "$count passed, 0 failed"; fi
exit $status
