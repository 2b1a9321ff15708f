#!/usr/bin/env bash
# entrypoint.sh -- starts Orthanc in the stack's Orthanc image, as the user docker-compose.yml
# names (BASEDIR's owner: the storage in BASEDIR/orthanc is its own in both modes): writes its
# configuration from the environment (scripts/native/orthanc-config.sh: AET, StableAge, login,
# DicomModalities and the senders ORTHANC_ALLOWED_MODALITIES allows, the private DCM-PROCESSOR
# dictionary, the Lua script) and the health check's curl configuration (the login, read from a
# file, never on a command line) into /tmp/dcmp-orthanc, owner-only. Inside the container Orthanc always listens on 8042 (HTTP) and
# 4242 (DICOM); docker-compose.yml publishes them on the host's ports. It logs to stderr.
set -euo pipefail
umask 077
. /opt/dcmp-stack/scripts/native/common.sh

export ORTHANC_HTTP_PORT=8042 ORTHANC_DICOM_PORT=4242
storage="${ORTHANC_STORAGE:-/var/lib/orthanc/db}"
if ! mkdir -p -- "$storage" 2>/dev/null || [ ! -w "$storage" ] || [ ! -x "$storage" ]; then
  echo "dcmp-orthanc: error: $storage (BASEDIR/orthanc: $(stat -c 'uid %u, mode %a' -- "$storage" 2>/dev/null || echo 'not reachable')) is not usable by uid $(id -u): run the stack with run.sh (it runs the containers as BASEDIR's owner)" >&2
  exit 1
fi
conf=/tmp/dcmp-orthanc
mkdir -p "$conf"
[ -O "$conf" ] || { echo "dcmp-orthanc: error: $conf belongs to another user" >&2; exit 1; }
chmod 700 "$conf"
dcmp_curl_login "${ORTHANC_REST_USERNAME:-}" "${ORTHANC_REST_PASSWORD:-}" > "$conf/curl.conf"
/opt/dcmp-stack/scripts/native/orthanc-config.sh "$conf"
exec Orthanc "$conf/orthanc.json"
