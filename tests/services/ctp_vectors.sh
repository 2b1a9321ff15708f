#!/bin/sh
# ctp_vectors.sh DCMP_CTP VECTORS -- runs our CTP anonymizer on the files RSNA CTP anonymized for
# tests/vectors/anonymizer (Debian's python3-pydicom test files) and compares normalize.sh of
# each output with CTP's; test-SR.dcm, which CTP quarantined, must give no file and an error
# naming the file and the rule. Pixel data must be byte-identical to the input's.
set -eu
tool=$1
vec=$2
src=${PYDICOM_TEST_FILES:-/usr/lib/python3/dist-packages/pydicom/data/test_files}
if [ ! -f "$src/CT_small.dcm" ]; then
  echo "ctp_vectors: $src/CT_small.dcm missing: install python3-pydicom (scripts/packages/test.txt)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/in" "$work/out"
cp "$src/CT_small.dcm" "$src/MR_small.dcm" "$src/rtstruct.dcm" "$src/test-SR.dcm" "$work/in/"
for f in "$src"/dicomdirtests/98892001/CT5N/*; do cp "$f" "$work/in/CT5N_$(basename "$f").dcm"; done
for f in "$src"/dicomdirtests/98892003/MR700/*; do cp "$f" "$work/in/MR700_$(basename "$f").dcm"; done

status=0
"$tool" --lut "$vec/lut.properties" "$vec/profile.script" "$work/out" "$work"/in/* 2>"$work/err" || true
count=0
for exp in "$vec"/expected/*.txt; do
  name=$(basename "$exp" .txt)
  count=$((count + 1))
  if [ ! -f "$work/out/$name" ]; then
    echo "FAIL $name: no output"; status=1; continue
  fi
  if ! "$vec/normalize.sh" "$work/out/$name" | diff -u "$exp" - >"$work/diff"; then
    echo "FAIL $name: differs from CTP's output:"; cat "$work/diff"; status=1; continue
  fi
  if [ "$(dcmdump -q +L "$work/in/$name" | grep '^(7fe0,0010)')" != \
       "$(dcmdump -q +L "$work/out/$name" | grep '^(7fe0,0010)')" ]; then
    echo "FAIL $name: pixel data changed"; status=1; continue
  fi
  echo "ok   $name"
done
if [ -e "$work/out/test-SR.dcm" ]; then
  echo "FAIL test-SR.dcm: CTP quarantined it, we wrote it"; status=1
elif ! grep -q 'test-SR.dcm: quarantined by <e t="00100020" n="PatientID">.*@lookup(this,ptid): missing key (ptid/)' "$work/err"; then
  echo "FAIL test-SR.dcm: error does not name the file and the rule:"; cat "$work/err"; status=1
else
  echo "ok   test-SR.dcm quarantined: $(cat "$work/err")"
fi
[ "$(grep -c . "$work/err")" -eq 1 ] || { echo "FAIL unexpected errors:"; cat "$work/err"; status=1; }
if [ $status -eq 0 ]; then echo "$((count + 1)) passed, 0 failed"; fi
exit $status
