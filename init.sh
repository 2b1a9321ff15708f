#!/usr/bin/env bash
# init.sh -- prepares a stack for its first series, as the original's init.sh did: makes the
# stack's folders, writes the default system settings (SETTINGS: headerFields, preServices,
# postServices) when there are none, and installs the base services (services/base, when this
# checkout has them) with service.sh. Safe to run again: existing settings are kept (--force
# rewrites them, keeping the old file as SETTINGS.bak) and services are reinstalled.
# Restarts nothing: the scheduler reads the settings for every event, workers pick up new
# libraries and scripts by themselves. run.sh runs it when SETTINGS does not exist yet.
#
# Usage: init.sh [--env FILE] [--force] [--no-services]
#   --env FILE      the settings (default: $DCMP_ENV when set, else .env beside init.sh)
#   --force         write the default system settings even when SETTINGS exists
#   --no-services   do not install the base services
# Environment: INIT_SERVICES (default "base"): the services of services/ to install.
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

# The default system settings: the services' own default (services/settings.json) when this
# checkout ships services, else the header fields alone and no pre/post service.
write_settings() {
  local src="$DCMP_ROOT/services/settings.json" tmp="$SETTINGS.tmp.$$"
  if [ -r "$src" ]; then
    cp "$src" "$tmp"
  else
    cat > "$tmp" <<'EOF'
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
EOF
  fi
  mv "$tmp" "$SETTINGS"
}

if [ -e "$SETTINGS" ] && [ $force = 0 ]; then
  dcmp_say "system settings kept: $SETTINGS (--force writes the default)"
else
  if [ -e "$SETTINGS" ]; then
    cp "$SETTINGS" "$SETTINGS.bak"
    dcmp_say "the old system settings are in $SETTINGS.bak"
  fi
  write_settings
  dcmp_say "default system settings written: $SETTINGS"
fi

if [ $services = 1 ]; then
  for name in ${INIT_SERVICES:-base}; do
    [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || dcmp_die "INIT_SERVICES: \"$name\" is not a service name"
    if [ -d "$DCMP_ROOT/services/$name" ]; then
      "$DCMP_ROOT/service.sh" install "$name" -p "$DCMP_ROOT/services/$name"
    else
      dcmp_say "note: services/$name is not in this checkout: not installed"
    fi
  done
fi
dcmp_say "ready: send DICOM to Orthanc (AET $ORTHANC_AET, port $ORTHANC_DICOM_PORT)"
