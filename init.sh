#!/usr/bin/env bash
# init.sh -- prepares a stack for its first series, as the original's init.sh did: makes the
# stack's folders, writes the default system settings (SETTINGS: headerFields, preServices
# dicomAnonymizer, postServices storageManager then systemCleaner) when there are none, and
# installs the base services with service.sh: natively from the build (build/services), with
# a Docker stack from the worker image. A random ANONYMIZER_SECRET is written into .env when
# none is set. Safe to run again: existing settings are kept (--force
# rewrites them, keeping the old file as SETTINGS.bak) and services are reinstalled.
# Restarts nothing: the scheduler reads the settings for every event, workers pick up new
# libraries and scripts by themselves. run.sh runs it when SETTINGS does not exist yet.
#
# Usage: init.sh [--env FILE] [--force] [--no-services]
#   --env FILE      the settings (default: $DCMP_ENV when set, else .env beside init.sh)
#   --force         write the default system settings even when SETTINGS exists
#   --no-services   do not install the base services
# Environment: INIT_SERVICES (default "base"): the built services to install (base, dcm2nii,
# temp, pytemp); DCMP_BIN: the native programs' folder (its parent holds services/).
# Exit status: 0 done; 1 a failure (named); 2 usage.
set -euo pipefail
DCMP_PROG=init.sh
. "$(dirname "${BASH_SOURCE[0]}")/scripts/native/common.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

envfile="" force=0 services=1
while [ $# -gt 0 ]; do
  case "$1" in
    --env) [ $# -ge 2 ] || dcmp_die "--env needs a file" 2; envfile="$2"; shift ;;
    --force) force=1 ;;
    --no-services) services=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "init.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -z "$envfile" ] || [ -r "$envfile" ] || dcmp_die "--env $envfile: cannot read it" 2
dcmp_settings "$envfile"

mkdir -p "$REGISTRY" "$MODULES" "$DATA" "$LOGS" "$(dirname "$SETTINGS")"
dcmp_basedir_own flat "$REGISTRY" "$MODULES" "$DATA" "$LOGS"

work=""
trap '[ -z "$work" ] || rm -rf --one-file-system "$work"' EXIT

# Sets svc_dir to the built services (base, dcm2nii, temp and their default system settings):
# with a Docker stack, copied out of the worker image (built there for it); natively, beside
# the programs run.sh runs (DCMP_BIN's parent: build/services), built with ./build.sh --native
# when missing.
built_services() {
  local mode bin image id
  mode="$(cat "$DCMP_RUN/mode" 2>/dev/null || true)"
  if [ "$mode" = docker ] || [ "$mode" = swarm ]; then
    image="dcm-processor/worker:${DCMP_IMAGE_TAG:-latest}"
    work="$(mktemp -d "${TMPDIR:-/tmp}/dcmp-init.XXXXXX")"
    id="$(docker create "$image" 2>/dev/null)" ||
      dcmp_die "the stack runs with Docker but the image $image is missing: run ./build.sh"
    docker cp "$id:/opt/dcmp/share/dcm-processor/services" "$work/services" >/dev/null 2>&1 ||
      { docker rm "$id" >/dev/null; dcmp_die "$image has no /opt/dcmp/share/dcm-processor/services"; }
    docker rm "$id" >/dev/null
    svc_dir="$work/services"
    return
  fi
  bin="${DCMP_BIN:-$DCMP_ROOT/build/bin}"
  if [ ! -d "$(dirname "$bin")/services" ] && [ -z "${DCMP_BIN:-}" ]; then
    dcmp_say "the services are not built: building with ./build.sh --native"
    "$DCMP_ROOT/build.sh" --native
  fi
  [ -d "$(dirname "$bin")/services" ] ||
    dcmp_die "no built services in $(dirname "$bin")/services (build the project first)"
  svc_dir="$(dirname "$bin")/services"
}

# The default system settings: the built services' (dicomAnonymizer pre; storageManager, then
# systemCleaner post) when there are built services, else the header fields alone.
write_settings() {
  local src="$1/settings.json" tmp="$SETTINGS.tmp.$$"
  if [ -n "$1" ] && [ -r "$src" ]; then
    cp "$src" "$tmp"
  else
    cat > "$tmp" <<'EOF2'
{
  "headerFields": [
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "PatientAge",
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber",
    "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality", "BodyPartExamined",
    "Manufacturer", "ManufacturerModelName", "ProtocolName", "SliceThickness",
    "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns",
    "seriesId", "studyId", "patientId", "dcmpath"
  ],
  "fullTags": false,
  "preServices": [],
  "postServices": []
}
EOF2
  fi
  dcmp_basedir_own flat "$tmp"
  mv "$tmp" "$SETTINGS"
}

svc_dir=""
if [ $services = 1 ]; then
  built_services
fi

# The services first, then the settings that name them: no event is planned against a
# library that is not there yet.
if [ $services = 1 ]; then
  for name in ${INIT_SERVICES:-base}; do
    [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || dcmp_die "INIT_SERVICES: \"$name\" is not a service name"
    [ -d "$svc_dir/$name" ] || dcmp_die "INIT_SERVICES: no built service $name in $svc_dir"
    # validated against the settings that will name it: the default ones when none exist yet
    set_args=()
    if { [ ! -e "$SETTINGS" ] || [ $force = 1 ]; } && [ -r "$svc_dir/settings.json" ]; then
      set_args=(--settings "$svc_dir/settings.json")
    fi
    DCMP_ENV="$DCMP_ENVFILE" "$DCMP_ROOT/service.sh" install "$name" -p "$svc_dir/$name" \
      "${set_args[@]}" || dcmp_die "installing $name failed (above)"
  done
  # base's anonymizer needs its secret (run.sh made sure of it before starting the workers)
  case " ${INIT_SERVICES:-base} " in *" base "*) dcmp_secret_ensure ;; esac
fi
if [ -e "$SETTINGS" ] && [ $force = 0 ]; then
  dcmp_say "system settings kept: $SETTINGS (--force writes the default)"
else
  if [ -e "$SETTINGS" ]; then
    cp "$SETTINGS" "$SETTINGS.bak"
    dcmp_basedir_own flat "$SETTINGS.bak"
    dcmp_say "the old system settings are in $SETTINGS.bak"
  fi
  write_settings "$svc_dir"
  dcmp_say "default system settings written: $SETTINGS"
fi

dcmp_say "ready: send DICOM to Orthanc (AET $ORTHANC_AET, port $ORTHANC_DICOM_PORT)"
