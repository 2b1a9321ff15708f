#!/bin/sh
# make_inputs.sh VALUES OUTDIR -- writes OUTDIR/<NAME>.dcm for each "NAME VALUE" line of VALUES
# with DCMTK's dump2dcm: a Secondary Capture object whose date (DA), date-time (DT), time (TM)
# and text (LO, SH) elements of dates.script all hold VALUE; so does ImageComments (LT), which
# the script copies into elements it creates (DA, TM, DT) to show which values they accept.
set -eu
values=$1
out=$2
mkdir -p "$out"
grep -v '^#' "$values" | while read -r name value; do
  [ "$value" = "-" ] && value=""
  v=$(printf '%s' "$value" | sed 's/\\/\\\\/g')
  txt="$out/$name.txt"
  {
    echo "(0002,0002) UI =SecondaryCaptureImageStorage"
    echo "(0002,0003) UI [1.2.3.4.5]"
    echo "(0002,0010) UI =LittleEndianExplicit"
    echo "(0008,0012) DA [$v]"
    echo "(0008,0016) UI =SecondaryCaptureImageStorage"
    echo "(0008,0018) UI [1.2.3.4.5]"
    echo "(0008,0020) DA [$v]"
    echo "(0008,0021) DA [$v]"
    echo "(0008,0022) DA [$v]"
    echo "(0008,0023) DA [$v]"
    echo "(0008,002a) DT [$v]"
    echo "(0008,0030) TM [$v]"
    echo "(0008,0031) TM [$v]"
    echo "(0008,0032) TM [$v]"
    echo "(0008,0070) LO [$v]"
    echo "(0008,0080) LO [$v]"
    echo "(0008,1010) SH [$v]"
    echo "(0008,1030) LO [$v]"
    echo "(0010,0020) LO [PID1]"
    echo "(0010,0030) DA [$v]"
    echo "(0018,1012) DA [$v]"
    echo "(0018,1200) DA [$v]"
    echo "(0018,9074) DT [$v]"
    echo "(0020,000d) UI [1.2.3.4]"
    echo "(0020,000e) UI [1.2.3.4.6]"
    echo "(0020,4000) LT [$v]"
    echo "(0040,a120) DT [$v]"
  } >"$txt"
  dump2dcm -q +te "$txt" "$out/$name.dcm"
  rm -f "$txt"
done
