#!/usr/bin/env bash
# service.sh -- installs, removes, backs up, lists and validates services, as the original's
# service.sh did. A service is a folder with two sub-folders: registry/ (settings.json or
# settings.yaml, and the callback library) and module/ (the worker library, files it needs,
# an optional script.sh). They go to REGISTRY/NAME and MODULES/NAME. Nothing is restarted:
# the scheduler reads the registry for every event and workers load the new libraries and run
# a new script.sh by themselves.
#
# Usage: service.sh install NAME -p PATH [--ref REF] [--no-validate] [--settings FILE]
#        service.sh remove NAME [-b BACKUP]
#        service.sh backup NAME -b BACKUP
#        service.sh list
#        service.sh validate NAME
#        (each also takes --env FILE: default $DCMP_ENV when set, else .env beside service.sh)
#   install    PATH is a folder, or a git repository (a URL, or a path ending in .git), cloned
#              at REF (default: its default branch). Prebuilt libraries are installed as they
#              are; sources are built first: a CMakeLists.txt at the top (its install step must
#              fill PREFIX/registry and PREFIX/module), or a CMakeLists.txt or Makefile in
#              registry/ or module/ (the libraries they build land in that folder). The
#              service is validated before anything is replaced (--no-validate skips that;
#              --settings FILE: against those system settings, not SETTINGS), then swapped in:
#              module first, registry last. A module/ with a requirements.txt (a Python
#              service) gets its virtual environment MODULES/.venvs/NAME first, made by pip with
#              your own pip configuration (pip.conf, PIP_INDEX_URL, PIP_FIND_LINKS), its output
#              in LOGS/venv-NAME.log: when pip fails, nothing is replaced (docs/python.md). With
#              the Docker stack, pip runs in a one-off container of the worker service (the
#              worker image's Python, and the pip settings docker-compose.override.yml gives
#              the workers).
#   remove     deletes REGISTRY/NAME, MODULES/NAME and MODULES/.venvs/NAME, after a backup into
#              BACKUP/NAME when -b
#   backup     copies the service to BACKUP/NAME/{registry,module}: install it again with
#              service.sh install NAME -p BACKUP/NAME
#   list       one line per installed service: its parts and its jobs
#   validate   the settings checked by the planner's rules, every worker and callback function
#              loaded from its library (dcm-processor validate; in the worker image when the
#              stack runs with Docker, so missing runtime libraries show too)
# NAME: the service's folder under REGISTRY and MODULES, 1 to 64 letters, digits, _ or -, not
# starting with - (a name that looks like an option is refused; --help prints this).
# Headers for service sources: include/dcmp/service.h of this checkout (DCMP_INCLUDE_DIR); a
# CMakeLists.txt may include(DcmpService), the helper in cmake/ of this checkout
# (CMAKE_MODULE_PATH), as the shipped services do: service.sh install dcm2nii -p services/dcm2nii
# Exit status: 0 done; 1 a failure (named); 2 usage.
set -euo pipefail
DCMP_PROG=service.sh
. "$(dirname "${BASH_SOURCE[0]}")/scripts/native/common.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
action="$1"
shift
case "$action" in
  install|remove|backup|validate) [ $# -ge 1 ] || dcmp_die "$action needs a service name" 2
    case "$1" in -h|--help) usage; exit 0 ;; esac
    name="$1"; shift ;;
  list) name="" ;;
  -h|--help|help) usage; exit 0 ;;
  *) echo "service.sh: unknown action: $action" >&2; usage >&2; exit 2 ;;
esac
path="" backup="" ref="" envfile="" validate=1 settings_for=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p|--path) [ $# -ge 2 ] || dcmp_die "$1 needs a path" 2; path="$2"; shift ;;
    -b|--backup) [ $# -ge 2 ] || dcmp_die "$1 needs a path" 2; backup="$2"; shift ;;
    --ref) [ $# -ge 2 ] || dcmp_die "--ref needs a branch or tag" 2; ref="$2"; shift ;;
    --no-validate) validate=0 ;;
    --settings) [ $# -ge 2 ] || dcmp_die "--settings needs a file" 2; settings_for="$2"; shift ;;
    --env) [ $# -ge 2 ] || dcmp_die "--env needs a file" 2; envfile="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "service.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
# check_name NAME: a service name is its folder under REGISTRY and MODULES and the first part
# of the dotted names settings.json uses ("NAME.callback"), so it is a plain name: 1 to 64
# letters, digits, _ or -, not starting with - (an option given where the name goes). A dot
# would split the dotted name, so none is allowed. Says which rule NAME breaks.
check_name() {
  local n="$1" bad
  [ -n "$n" ] || dcmp_die "the service name is empty: 1 to 64 letters, digits, _ or -" 2
  [[ "$n" != -* ]] || dcmp_die "service name \"$n\" looks like an option: give the name first ($action NAME ...; see --help)" 2
  # the letters listed: a range such as A-Z may match more in some locales
  bad="${n//[abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-]/}"
  [ -z "$bad" ] || dcmp_die "service name \"$n\": \"${bad:0:1}\" is not allowed: 1 to 64 letters, digits, _ or - (no dot: it would split the dotted names in settings.json)" 2
  [ ${#n} -le 64 ] || dcmp_die "service name \"$n\": longer than 64 characters: 1 to 64 letters, digits, _ or -" 2
}
[ "$action" = list ] || check_name "$name"
[ -z "$envfile" ] || [ -r "$envfile" ] || dcmp_die "--env $envfile: cannot read it" 2
dcmp_settings "$envfile"

work=""
cleanup() { [ -z "$work" ] || rm -rf --one-file-system "$work"; }
trap cleanup EXIT
new_work() { [ -n "$work" ] || work="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-service.XXXXXX")"; }

stack_mode() { cat "$DCMP_RUN/mode" 2>/dev/null || echo none; }

# built_bin PROGRAM: the path of a program of this checkout's build (DCMP_BIN, else build/bin,
# else build-test/bin); fails when it is not built.
built_bin() {
  local b="${DCMP_BIN:-$DCMP_ROOT/build/bin}/$1"
  [ -x "$b" ] && { printf '%s' "$b"; return 0; }
  b="$DCMP_ROOT/build-test/bin/$1"
  [ -x "$b" ] && { printf '%s' "$b"; return 0; }
  return 1
}

# run_validate REGISTRY_ROOT MODULES_ROOT NAME: dcm-processor validate on the service NAME
# whose parts are REGISTRY_ROOT/NAME and MODULES_ROOT/NAME.
# The system settings a service is validated against: --settings FILE (init.sh gives the
# default it is about to write), else SETTINGS.
validate_settings() { printf '%s' "${settings_for:-$SETTINGS}"; }

run_validate() {
  local reg="$1" mods="$2" svc="$3" cli image set mount=()
  set="$(validate_settings)"
  if [ "$(stack_mode)" = docker ] || [ "$(stack_mode)" = swarm ]; then
    image="dcm-processor/worker:${DCMP_IMAGE_TAG:-latest}"
    docker image inspect "$image" >/dev/null 2>&1 ||
      dcmp_die "the stack runs with Docker but the image $image is missing: run ./build.sh"
    [ ! -f "$set" ] || mount=(-v "$set:/validate/settings.json:ro")
    # a container entry's image is checked with the engine the workers get: its socket only
    # with CONTAINER_JOBS=1 in Docker mode (docs/containers.md); else the error names it
    local cj="${CONTAINER_JOBS:-0}" sock=/var/run/docker.sock
    case "${DOCKER_HOST:-}" in unix://*) sock="${DOCKER_HOST#unix://}" ;; esac
    [ "$(stack_mode)" = docker ] || cj=0
    if [ "$cj" = 1 ] && [ -S "$sock" ]; then
      mount+=(-v "$sock:/var/run/docker.sock" --group-add "$(stat -c %g "$sock")")
    fi
    docker run --rm --network none --entrypoint dcm-processor \
      -v "$reg:/validate/registry:ro" -v "$mods:/validate/modules:ro" "${mount[@]}" \
      -e DCMP_ENV= -e SETTINGS=/validate/settings.json -e "CONTAINER_JOBS=$cj" \
      "$image" validate "$svc" --registry /validate/registry --modules /validate/modules
  else
    cli="$(built_bin dcm-processor)" || dcmp_die "dcm-processor is not built (build/bin): run ./build.sh --native, or use --no-validate"
    DCMP_ENV= SETTINGS="$set" "$cli" validate "$svc" --registry "$reg" --modules "$mods"
  fi
}

# make_venv STAGED_MODULE STAGED_VENV: the virtual environment of a Python service from
# STAGED_MODULE/requirements.txt, made by dcmp-venv into STAGED_VENV (the staging area's
# .venvs/NAME), so that validate imports the module in it; install swaps it in as
# MODULES/.venvs/NAME with the service. A failure ends the install with pip's message, nothing
# replaced. With Docker it is made in the worker image (make_venv_docker).
make_venv() {
  local staged="$1" venv="$2" prog log="$LOGS/venv-$name.log"
  [ -f "$staged/requirements.txt" ] || return 0
  if [ "$(stack_mode)" = docker ]; then
    make_venv_docker "$staged" "$venv"
    return 0
  fi
  prog="$(built_bin dcmp-venv)" || dcmp_die "dcmp-venv is not built (build/bin): run ./build.sh --native"
  dcmp_say "making the virtual environment of $name (pip's output: $log)"
  mkdir -p "$(dirname "$venv")" "$LOGS"
  "$prog" "$staged" "$venv" "$log" ||
    dcmp_die "the virtual environment of $name could not be made (pip's message above): nothing was installed"
}

# make_venv_docker STAGED_MODULE STAGED_VENV: make_venv with the Docker stack: dcmp-venv runs in
# a one-off container of the stack's worker service (docker compose run: the worker image's
# Python, the worker's environment and volumes, docker-compose.override.yml's too, so a pip
# configuration given to the workers there serves the install as well), as the caller (who owns
# the staging area), with the staged module read-only and the staged .venvs folder writable.
# The caller's own PIP_* variables are not passed: they name the host's paths and mirrors; the
# worker service's configuration is the one pip uses in the stack, at install and at start.
make_venv_docker() {
  local staged="$1" venv="$2" image ok
  image="dcm-processor/worker:${DCMP_IMAGE_TAG:-latest}"
  docker image inspect "$image" >/dev/null 2>&1 ||
    dcmp_die "the stack runs with Docker but the image $image is missing: run ./build.sh"
  mkdir -p "$(dirname "$venv")"
  dcmp_say "making the virtual environment of $name in the worker image (pip's output: $LOGS/venv-$name.log)"
  ok=0
  (cd "$DCMP_ROOT" && dcmp_compose run --rm --no-deps --user "$(id -u):$(id -g)" \
    -v "$staged:/dcmp-stage/module:ro" -v "$(dirname "$venv"):/dcmp-stage/venvs" worker \
    dcmp-venv /dcmp-stage/module "/dcmp-stage/venvs/$name" "/dcmp/logs/venv-$name.log") || ok=$?
  # the log stays BASEDIR's owner's (as root, the container wrote it as root)
  [ ! -e "$LOGS/venv-$name.log" ] || dcmp_basedir_own flat "$LOGS/venv-$name.log"
  [ $ok -eq 0 ] ||
    dcmp_die "the virtual environment of $name could not be made (pip's message above): nothing was installed"
}

need_build_tools() {
  local missing=() p
  for p in cmake cc make; do command -v "$p" >/dev/null || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    dcmp_say "building the service needs ${missing[*]}: installing the build packages"
    "$DCMP_ROOT/scripts/deps.sh" build
  else
    dcmp_die "building the service needs ${missing[*]}; run as root:
  apt-get update && apt-get install -y build-essential cmake pkg-config"
  fi
}

# build_part DIR PART LOG: builds the sources of one part (registry or module) in place: its
# libraries land in DIR.
build_part() {
  local dir="$1" part="$2" log="$3"
  if [ -f "$dir/CMakeLists.txt" ]; then
    need_build_tools
    dcmp_say "building $part/ with CMake"
    if ! { cmake -S "$dir" -B "$work/build-$part" -DCMAKE_BUILD_TYPE=Release \
             -DDCMP_INCLUDE_DIR="$DCMP_ROOT/include" -DCMAKE_MODULE_PATH="$DCMP_ROOT/cmake" \
             -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$dir" &&
           cmake --build "$work/build-$part" -j"$(nproc)"; } >> "$log" 2>&1; then
      tail -n 30 "$log" >&2
      dcmp_die "building $part/ of $name failed (the end of the build's output is above)"
    fi
  elif [ -f "$dir/Makefile" ] || [ -f "$dir/makefile" ]; then
    need_build_tools
    dcmp_say "building $part/ with make"
    if ! make -C "$dir" DCMP_INCLUDE_DIR="$DCMP_ROOT/include" >> "$log" 2>&1; then
      tail -n 30 "$log" >&2
      dcmp_die "building $part/ of $name failed (above)"
    fi
  fi
}

is_git_source() {
  case "$1" in
    http://*|https://*|ssh://*|git://*|git@*|file://*|*.git|*.git/) return 0 ;;
  esac
  return 1
}

do_install() {
  local src stage_reg stage_mod log
  [ -n "$path" ] || dcmp_die "install $name: -p PATH is missing" 2
  new_work
  log="$work/build.log"
  if is_git_source "$path"; then
    command -v git >/dev/null || dcmp_die "install from git needs git: apt-get install -y git"
    dcmp_say "cloning $path${ref:+ at $ref}"
    local args=(clone --quiet --depth 1)
    [ -z "$ref" ] || args+=(--branch "$ref")
    # "--" ends the options: a path or URL that starts with "-" is not taken for one
    git "${args[@]}" -- "$path" "$work/src" || dcmp_die "git clone $path failed"
    src="$work/src"
  else
    [ -z "$ref" ] || dcmp_die "--ref is for a git source; $path is a folder" 2
    [ -d "$path" ] || dcmp_die "install $name: $path is not a folder (nor a git URL)"
    src="$(cd "$path" && pwd)"
  fi
  [ -d "$src/registry" ] && [ -d "$src/module" ] ||
    dcmp_die "install $name: $path must hold registry/ and module/ folders"
  stage_reg="$work/registry/$name"
  stage_mod="$work/modules/$name"
  mkdir -p "$work/registry" "$work/modules"
  if [ -f "$src/CMakeLists.txt" ]; then
    need_build_tools
    dcmp_say "building $name with CMake"
    mkdir -p "$work/prefix"
    if ! { cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
             -DDCMP_INCLUDE_DIR="$DCMP_ROOT/include" -DCMAKE_MODULE_PATH="$DCMP_ROOT/cmake" \
             -DCMAKE_INSTALL_PREFIX="$work/prefix" &&
           cmake --build "$work/build" -j"$(nproc)" &&
           cmake --install "$work/build"; } >> "$log" 2>&1; then
      tail -n 30 "$log" >&2
      dcmp_die "building $name failed (above)"
    fi
    [ -d "$work/prefix/registry" ] && [ -d "$work/prefix/module" ] ||
      dcmp_die "$name: its CMake install step must fill PREFIX/registry and PREFIX/module"
    cp -a "$src/registry" "$stage_reg"
    cp -a "$src/module" "$stage_mod"
    cp -a "$work/prefix/registry/." "$stage_reg/"
    cp -a "$work/prefix/module/." "$stage_mod/"
  else
    cp -a "$src/registry" "$stage_reg"
    cp -a "$src/module" "$stage_mod"
    build_part "$stage_reg" registry "$log"
    build_part "$stage_mod" module "$log"
  fi
  rm -rf "$stage_reg/.git" "$stage_mod/.git"
  # the environment first: validate imports the module in it, and the module's code never runs
  # without the packages it asks for
  make_venv "$stage_mod" "$work/modules/.venvs/$name"
  if [ $validate = 1 ]; then
    run_validate "$work/registry" "$work/modules" "$name" ||
      dcmp_die "$name is not valid (above): nothing was installed"
  fi
  if [ ! -e "$SETTINGS" ] && [ ! -e "$DCMP_RUN/mode" ]; then
    echo "service.sh: warning: no stack uses $BASEDIR (no $SETTINGS, no $DCMP_RUN/mode): is --env (or DCMP_ENV) the stack's settings file?" >&2
  fi
  mkdir -p "$REGISTRY" "$MODULES"
  dcmp_basedir_own flat "$REGISTRY" "$MODULES"
  if [ -d "$work/modules/.venvs/$name" ]; then
    mkdir -p "$MODULES/.venvs"
    dcmp_basedir_own flat "$MODULES/.venvs"
    swap_in "$work/modules/.venvs/$name" "$MODULES/.venvs/$name"
  fi
  # Swapped in by rename, worker code first: the scheduler never plans a job whose worker
  # library is not there yet, and a worker never loads half a library.
  swap_in "$stage_mod" "$MODULES/$name"
  swap_in "$stage_reg" "$REGISTRY/$name"
  dcmp_say "installed $name (registry: $REGISTRY/$name, module: $MODULES/$name)"
}

# swap_in STAGED TARGET: moves STAGED to TARGET, replacing an existing TARGET.
swap_in() {
  local staged="$1" target="$2" tmp old
  tmp="$(dirname "$target")/.$(basename "$target").new.$$"
  old="$(dirname "$target")/.$(basename "$target").old.$$"
  rm -rf "$tmp" "$old"
  # copy across file systems first, then rename within the target's folder
  cp -a "$staged" "$tmp"
  # the copy keeps the source's modes: owner-only, as everything under BASEDIR
  chmod -R go-rwx -- "$tmp"
  dcmp_basedir_own deep "$tmp"
  if [ -e "$target" ]; then
    mv "$target" "$old"
  fi
  mv "$tmp" "$target"
  rm -rf "$old"
}

copy_out() {
  local dest="$1/$name"
  [ -d "$REGISTRY/$name" ] || [ -d "$MODULES/$name" ] || dcmp_die "service $name is not installed"
  mkdir -p "$dest"
  rm -rf "$dest/registry.tmp" "$dest/module.tmp"
  if [ -d "$REGISTRY/$name" ]; then cp -a "$REGISTRY/$name" "$dest/registry.tmp"; fi
  if [ -d "$MODULES/$name" ]; then cp -a "$MODULES/$name" "$dest/module.tmp"; fi
  rm -rf "$dest/registry" "$dest/module"
  if [ -d "$dest/registry.tmp" ]; then mv "$dest/registry.tmp" "$dest/registry"; fi
  if [ -d "$dest/module.tmp" ]; then mv "$dest/module.tmp" "$dest/module"; fi
  dcmp_say "backed up $name into $dest"
}

do_remove() {
  [ -d "$REGISTRY/$name" ] || [ -d "$MODULES/$name" ] || dcmp_die "service $name is not installed"
  [ -z "$backup" ] || copy_out "$backup"
  # registry first: no new job of it is planned once its worker code is gone
  rm -rf --one-file-system "$REGISTRY/$name"
  rm -rf --one-file-system "$MODULES/$name" "$MODULES/.venvs/$name"
  dcmp_say "removed $name"
}

do_list() {
  local d n seen=() parts jobs f
  for d in "$REGISTRY"/*/ "$MODULES"/*/; do
    [ -d "$d" ] || continue
    n="$(basename "$d")"
    [[ " ${seen[*]-} " == *" $n "* ]] && continue
    seen+=("$n")
  done
  if [ ${#seen[@]} -eq 0 ]; then
    echo "no service installed (REGISTRY $REGISTRY, MODULES $MODULES)"
    return 0
  fi
  printf '%-24s %-9s %-7s %-9s %s\n' SERVICE REGISTRY MODULE SCRIPT JOBS
  for n in $(printf '%s\n' "${seen[@]}" | sort); do
    jobs=""
    for f in "$REGISTRY/$n"/settings.json "$REGISTRY/$n"/settings.yaml "$REGISTRY/$n"/settings.yml; do
      [ -f "$f" ] || continue
      jobs="$(grep -oE '"?jobName"?[[:space:]]*:[[:space:]]*"?[A-Za-z0-9_.-]+' "$f" |
        sed -E 's/.*:[[:space:]]*"?//' | tr '\n' ' ')"
      break
    done
    parts="$( [ -d "$REGISTRY/$n" ] && echo yes || echo no)"
    [ -n "$jobs" ] || [ ! -d "$REGISTRY/$n" ] || jobs="(named by the system settings)"
    printf '%-24s %-9s %-7s %-9s %s\n' "$n" "$parts" \
      "$( [ -d "$MODULES/$n" ] && echo yes || echo no)" \
      "$( [ -f "$MODULES/$n/script.sh" ] && echo yes || echo no)" "${jobs:--}"
  done
}

case "$action" in
  install) do_install ;;
  remove) do_remove ;;
  backup)
    [ -n "$backup" ] || dcmp_die "backup $name: -b PATH is missing" 2
    copy_out "$backup" ;;
  list) do_list ;;
  validate)
    [ -d "$REGISTRY/$name" ] || dcmp_die "service $name is not installed in $REGISTRY"
    run_validate "$REGISTRY" "$MODULES" "$name" ;;
esac
