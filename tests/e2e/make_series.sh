#!/usr/bin/env bash
# make_series.sh -- writes a synthetic CT series of N slices (64x64, 16-bit) as DICOM files with
# DCMTK's dump2dcm: one study, series and frame of reference, one SOP instance per slice,
# ImagePositionPatient stepping 2.5 mm in z, InstanceNumber 1..N.
# Usage: tests/e2e/make_series.sh OUTDIR N DESCRIPTION PATIENT_ID
# Environment: STUDY_UID (default: a new one) puts the series into that study; SERIES_NUMBER
# (default 1) its SeriesNumber.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: make_series.sh OUTDIR N DESCRIPTION PATIENT_ID" >&2; exit 2; }
out="$1" n="$2" desc="$3" pid="$4"
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "make_series.sh: N=$n: a count" >&2; exit 2; }
[[ "${STUDY_UID:-1}" =~ ^[0-9]+(\.[0-9]+)*$ ]] || { echo "make_series.sh: STUDY_UID=$STUDY_UID: a UID" >&2; exit 2; }
[[ "${SERIES_NUMBER:-1}" =~ ^[0-9]{1,9}$ ]] || { echo "make_series.sh: SERIES_NUMBER=$SERIES_NUMBER: a number" >&2; exit 2; }
mkdir -p "$out"
# UIDs unique per call: the 2.25 root followed by the time in ns, the pid and a random number
root="2.25.$(date +%s%N)$$$RANDOM"
study="${STUDY_UID:-$root.1}" series="$root.2" frame="$root.3"
raw="$out/.pixels.raw"
# 64*64 16-bit pixels: a gradient, different per slice is not needed
head -c 8192 /dev/zero | tr '\0' '\1' > "$raw"
for ((k = 1; k <= n; k++)); do
  z=$(awk -v k="$k" 'BEGIN { printf "%.1f", (k - 1) * 2.5 }')
  cat > "$out/.s$k.txt" <<EOD
(0002,0002) UI =CTImageStorage
(0002,0003) UI [$root.10.$k]
(0002,0010) UI =LittleEndianExplicit
(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]
(0008,0016) UI =CTImageStorage
(0008,0018) UI [$root.10.$k]
(0008,0020) DA [20260101]
(0008,0030) TM [120000]
(0008,0060) CS [CT]
(0008,0070) LO [dcm-processor tests]
(0008,103e) LO [$desc]
(0010,0010) PN [Synthetic^Patient]
(0010,0020) LO [$pid]
(0010,0030) DA [19700101]
(0010,0040) CS [O]
(0018,0050) DS [2.5]
(0020,000d) UI [$study]
(0020,000e) UI [$series]
(0020,0010) SH [1]
(0020,0011) IS [${SERIES_NUMBER:-1}]
(0020,0013) IS [$k]
(0020,0032) DS [0\\0\\$z]
(0020,0037) DS [1\\0\\0\\0\\1\\0]
(0020,0052) UI [$frame]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 64
(0028,0011) US 64
(0028,0030) DS [0.5\\0.5]
(0028,0100) US 16
(0028,0101) US 16
(0028,0102) US 15
(0028,0103) US 0
(0028,1052) DS [-1024]
(0028,1053) DS [1]
(7fe0,0010) OW =$raw
EOD
  dump2dcm +te "$out/.s$k.txt" "$out/slice$k.dcm"
  rm -f "$out/.s$k.txt"
done
rm -f "$raw"
