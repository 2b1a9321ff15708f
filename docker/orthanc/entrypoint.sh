#!/usr/bin/env bash
# entrypoint.sh -- starts Orthanc in the stack's Orthanc image: writes its configuration from the
# environment (scripts/native/orthanc-config.sh: AET, StableAge, login, DicomModalities and the
# senders ORTHANC_ALLOWED_MODALITIES allows, the private DCM-PROCESSOR dictionary, the Lua
# script) into /run/orthanc, hands the storage to the
# orthanc user and runs Orthanc as that user. Inside the container Orthanc always listens on
# 8042 (HTTP) and 4242 (DICOM); docker-compose.yml publishes them on the host's ports. It logs
# to stderr (docker logs).
set -euo pipefail

export ORTHANC_HTTP_PORT=8042 ORTHANC_DICOM_PORT=4242
storage="${ORTHANC_STORAGE:-/var/lib/orthanc/db}"
mkdir -p "$storage" /run/orthanc
chown orthanc:orthanc /run/orthanc
# a bind-mounted folder keeps the host's owner (root when native mode made it)
[ "$(stat -c %U -- "$storage")" = orthanc ] || chown -R orthanc:orthanc -- "$storage"
setpriv --reuid=orthanc --regid=orthanc --init-groups -- \
  /opt/dcmp-stack/scripts/native/orthanc-config.sh /run/orthanc
exec setpriv --reuid=orthanc --regid=orthanc --init-groups -- \
  Orthanc /run/orthanc/orthanc.json
