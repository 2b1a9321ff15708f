#!/usr/bin/env bash
# service_test.sh -- service.sh through its command line, without a running stack: install from a
# folder of prebuilt libraries, from sources, from a git repository (file:// URL and a .git
# path, at a tag); the shipped services from a clean checkout with the original's one command;
# a service that does not validate is refused and nothing changes; backup,
# remove -b and install from the backup; list; bad names and paths refused with a message.
# Usage: tests/e2e/service_test.sh   Environment: DCMP_BIN (dcm-processor), DCMP_TEST_MODULES
# (the test libraries: testmods.so, testcb.so)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { echo "service_test: $*"; }
failures=0
check() {
  local what="$1"
  shift
  if "$@" >/dev/null 2>"$tmp/err"; then
    say "ok   $what"
  else
    say "FAIL $what"
    sed 's/^/    /' "$tmp/err" | tail -n 15
    failures=$((failures + 1))
  fi
}
# refuses WHAT PATTERN CMD...: CMD fails and says PATTERN (on stdout or stderr)
refuses() {
  local what="$1" pattern="$2"
  shift 2
  if "$@" >"$tmp/out" 2>&1; then
    say "FAIL $what: it succeeded"
    failures=$((failures + 1))
  elif ! grep -q -- "$pattern" "$tmp/out"; then
    say "FAIL $what: no \"$pattern\" in:"
    sed 's/^/    /' "$tmp/out" | tail -n 15
    failures=$((failures + 1))
  else
    say "ok   $what"
  fi
}

mods="${DCMP_TEST_MODULES:?DCMP_TEST_MODULES: the folder of testmods.so and testcb.so}"
[ -n "${DCMP_BIN:-}" ] || { say "FAIL DCMP_BIN is not set"; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-service-test.XXXXXX")"
trap '[ $failures -eq 0 ] && rm -rf "$tmp" || say "kept $tmp"' EXIT
export BASEDIR="$tmp/base" DCMP_ENV=""
mkdir -p "$BASEDIR"

# a prebuilt service: the test libraries copied in
pre="$tmp/prebuilt"
mkdir -p "$pre/registry" "$pre/module"
cp "$mods/testcb.so" "$pre/registry/cb.so"
cp "$mods/testmods.so" "$pre/module/w.so"
cat > "$pre/registry/settings.json" <<'EOF'
{"jobName": "pre-job", "worker": "pre.w.noop", "callback": "pre.cb.yes"}
EOF
echo 'echo hello' > "$pre/module/script.sh"
check "install a prebuilt service" ./service.sh install pre -p "$pre"
check "its parts are in place" test -f "$BASEDIR/registry/pre/cb.so" -a -f "$BASEDIR/modules/pre/w.so"
check "list shows it with its script and job" bash -c "./service.sh list | grep -E '^pre +yes +yes +yes +pre-job'"
check "validate it" ./service.sh validate pre

# a service that names a function its library lacks: refused, the installed one untouched
bad="$tmp/bad"
cp -a "$pre" "$bad"
cat > "$bad/registry/settings.json" <<'EOF'
{"jobName": "pre-job", "worker": "pre.w.nosuchfunction", "callback": "pre.cb.yes"}
EOF
refuses "an invalid service is refused" "nothing was installed" ./service.sh install pre -p "$bad"
check "the installed version is untouched" grep -q '"pre.w.noop"' "$BASEDIR/registry/pre/settings.json"

# sources: the probe service (CMakeLists.txt in registry/ and module/)
check "install from sources" ./service.sh install probe -p tests/e2e/probe
check "its libraries were built" test -f "$BASEDIR/registry/probe/callback.so" -a -f "$BASEDIR/modules/probe/probe.so"

# the template, copied and named as docs/services.md says: its own service, from its sources
cp -r services/temp "$tmp/mysvc"
sed -i 's/^set(SERVICE temp)/set(SERVICE mysvc)/' "$tmp/mysvc/CMakeLists.txt"
sed -i 's/"tempJob"/"mysvcJob"/; s/"temp\./"mysvc./' "$tmp/mysvc/registry/settings.json"
check "the template, named mysvc, installs from its sources" ./service.sh install mysvc -p "$tmp/mysvc"
check "its libraries carry its name" bash -c "./service.sh validate mysvc | grep -q 'mysvc.worker -> .*/modules/mysvc/mysvc.so (mysvc 1.0.0)'"
check "list shows its job" bash -c "./service.sh list | grep -E '^mysvc +yes +yes +no +mysvcJob'"
check "its callback writes under DATA/mysvc, not temp's folder" bash -c \
  "strings '$BASEDIR/registry/mysvc/mysvc.so' | grep -q '^mysvc/%s.pdf' && ! strings '$BASEDIR/registry/mysvc/mysvc.so' | grep -q '^temp/'"

# the shipped services, as the original's README says (./service.sh install dcm2nii -p
# services/dcm2nii), from a clean checkout: the tracked files of this one (with their changes)
# and nothing built, so each service builds on its own through cmake/DcmpService.cmake
co="$tmp/checkout"
mkdir -p "$co"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && tar --null -T - -cf -) | tar -x -C "$co"
  check "the clean checkout has no build" test ! -e "$co/build" -a -f "$co/cmake/DcmpService.cmake"
  cp "$co/services/settings.json" "$BASEDIR/settings.json" # what init.sh writes first
  for svc in base dcm2nii temp; do
    check "install $svc -p services/$svc from a clean checkout" \
      bash -c "cd '$co' && ./service.sh install $svc -p services/$svc"
    check "validate $svc" bash -c "cd '$co' && ./service.sh validate $svc | tail -n 1 | grep -qx valid"
  done
  check "base's parts are in place" test -f "$BASEDIR/registry/base/base.so" -a \
    -f "$BASEDIR/modules/base/dicomAnonymizer/dicomAnonymizer.so" -a \
    -f "$BASEDIR/modules/base/dicomAnonymizer/config/dicom-anonymizer.script" -a \
    -f "$BASEDIR/modules/base/storageManager/storageManager.so" -a \
    -f "$BASEDIR/modules/base/systemcleaner/systemcleaner.so"
  check "dcm2nii's parts are in place" test -f "$BASEDIR/registry/dcm2nii/dcm2nii.so" -a \
    -f "$BASEDIR/registry/dcm2nii/settings.json" -a -f "$BASEDIR/modules/dcm2nii/dcm2nii.so"
  check "only the descriptor is exported" bash -c \
    "[ \"\$(nm -D --defined-only '$BASEDIR/modules/dcm2nii/dcm2nii.so' | awk '\$2 ~ /[TDBR]/ {print \$3}')\" = dcmp_module_descriptor ]"
  rm -rf "$BASEDIR/settings.json"
else
  say "skip the shipped services from a clean checkout: $root is not a git checkout"
fi

# git: a repository with the prebuilt service, tagged
repo="$tmp/repo"
mkdir -p "$repo"
cp -a "$pre/registry" "$pre/module" "$repo/"
sed -i 's/pre\./fromgit./g; s/pre-job/git-job/' "$repo/registry/settings.json"
git -C "$repo" init -q
git -C "$repo" -c user.email=t@t -c user.name=t add -A
git -C "$repo" -c user.email=t@t -c user.name=t commit -qm v1
git -C "$repo" tag v1
echo '# a later change' >> "$repo/module/script.sh"
git -C "$repo" -c user.email=t@t -c user.name=t commit -qam v2
check "install from a git URL at a tag" ./service.sh install fromgit -p "file://$repo" --ref v1
check "the tag's files, without .git" bash -c "! grep -q 'later change' '$BASEDIR/modules/fromgit/script.sh' && test ! -e '$BASEDIR/modules/fromgit/.git'"
git clone -q --bare "$repo" "$tmp/bare.git"
check "install from a .git path (default branch)" ./service.sh install fromgit -p "$tmp/bare.git"
check "the default branch's files" grep -q 'later change' "$BASEDIR/modules/fromgit/script.sh"

# backup, remove -b, install from the backup
check "backup" ./service.sh backup pre -b "$tmp/backups"
check "the backup has both parts" test -f "$tmp/backups/pre/registry/cb.so" -a -f "$tmp/backups/pre/module/w.so"
check "remove with a backup" ./service.sh remove pre -b "$tmp/backups2"
check "removed" test ! -e "$BASEDIR/registry/pre" -a ! -e "$BASEDIR/modules/pre"
check "install from the backup" ./service.sh install pre -p "$tmp/backups2/pre"
check "back in place" ./service.sh validate pre

refuses "a bad service name" "1 to 64 letters" ./service.sh install '../x' -p "$pre"
# names that look like options or are not plain: refused, saying which rule; nothing installed
refuses "a name that looks like an option" "looks like an option" ./service.sh install --foo -p "$pre"
refuses "a name starting with -" "looks like an option" ./service.sh install -x -p "$pre"
refuses "a dotted name" '"." is not allowed' ./service.sh install my.svc -p "$pre"
refuses "a name with a slash" '"/" is not allowed' ./service.sh remove a/b
refuses "a name with a space" '" " is not allowed' ./service.sh install 'a b' -p "$pre"
refuses "a name with a non-ASCII letter" 'is not allowed' ./service.sh install 'caf'$'\xc3\xa9' -p "$pre"
refuses "an empty name" "is empty" ./service.sh install '' -p "$pre"
refuses "a name of 65 characters" "longer than 64" ./service.sh install "$(printf 'a%.0s' {1..65})" -p "$pre"
check "--help where the name goes prints the usage" bash -c "./service.sh install --help -p '$pre' | grep -q '^Usage: service.sh install NAME'"
check "-h where the name goes prints the usage" bash -c "./service.sh remove -h | grep -q '^Usage: service.sh install NAME'"
check "--help after the name prints the usage" bash -c "./service.sh install pre --help | grep -q '^Usage: service.sh'"
check "nothing was installed under an option's name" bash -c "! ls -A '$BASEDIR/registry' '$BASEDIR/modules' | grep -qE '^-|help|my\.svc'"
refuses "a missing folder" "is not a folder" ./service.sh install x -p "$tmp/nothing"
refuses "a folder without registry/ and module/" "must hold registry/ and module/" ./service.sh install x -p "$tmp"
refuses "remove of a service not installed" "is not installed" ./service.sh remove nothere
refuses "an unknown action" "unknown action" ./service.sh frobnicate

[ $failures -eq 0 ] || { say "$failures check(s) failed"; exit 1; }
say "all checks passed"
