#!/usr/bin/env bash
# linkage.sh -- only libdcmp_python.so links libpython, and it exports its table alone.
# Usage: linkage.sh BINDIR LIBDIR (the build's bin/ and lib/)
set -u
bindir=$1 libdir=$2 fail=0
for f in "$bindir"/dcmp-* "$bindir"/dcm-processor "$libdir"/*.so; do
  [ "$(basename "$f")" = libdcmp_python.so ] && continue
  [ -e "$f" ] || { echo "linkage.sh: $f: no such file (build first)" >&2; fail=1; continue; }
  if readelf -d "$f" | grep NEEDED | grep -q libpython; then
    echo "linkage.sh: $f links libpython: only libdcmp_python.so may" >&2
    fail=1
  fi
done
py=$libdir/libdcmp_python.so
readelf -d "$py" | grep NEEDED | grep -q libpython ||
  { echo "linkage.sh: $py does not link libpython" >&2; fail=1; }
# a sanitizer build adds its own markers (__odr_asan.*), which are not ours
exported=$(nm -D --defined-only "$py" | awk '{print $3}' | grep -v '^_init$\|^_fini$\|^__odr_asan\|^__asan\|^__sancov')
[ "$exported" = dcmp_python_runner ] ||
  { echo "linkage.sh: $py exports [$exported], not dcmp_python_runner alone" >&2; fail=1; }
[ $fail = 0 ] && echo "linkage.sh: ok"
exit $fail
