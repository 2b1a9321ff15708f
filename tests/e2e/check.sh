# check.sh -- the end-to-end scripts' report helpers, sourced: say, and check, which counts
# failures in $failures. The sourcing script sets test_name first.
failures=0
say() { echo "$test_name: $*"; }
check() { # check DESCRIPTION CMD...: runs CMD, counts a failure
  local what="$1"
  shift
  if "$@"; then
    say "ok   $what"
  else
    say "FAIL $what"
    failures=$((failures + 1))
  fi
}
