#!/usr/bin/env bash
# orthanc-config.sh -- writes the configuration of native mode's Orthanc into a folder of the
# stack (never /etc/orthanc): DIR/orthanc.json (mode 600: it may hold the REST password) and
# DIR/dcm-processor.lua (a copy of docker/orthanc/dcm-processor.lua, the webhook script).
# Storage and index live in DIR/storage and DIR/index. Run by run.sh at every start.
#
# Usage: scripts/native/orthanc-config.sh DIR
# Reads from the environment (run.sh exports the .env settings):
#   ORTHANC_HTTP_PORT, ORTHANC_DICOM_PORT, ORTHANC_AET    HTTP and DICOM ports, the AE title
#   STABLE_AGE                                           seconds (>= 1; 0 would mean 60 to Orthanc)
#   ORTHANC_REST_USERNAME, ORTHANC_REST_PASSWORD         when both set: HTTP basic auth required
#   ORTHANC_BIND (else BIND_ADDRESS)                     not loopback + a login: remote HTTP allowed
#   ORTHANC_HTTP_TIMEOUT                                 Orthanc's HttpTimeout (default 5 s): the
#                                                        REST API waits while the webhook waits
#   ORTHANC_REMOTE_ACCESS                                true: HTTP from other hosts too (the
#                                                        Docker image sets it: the scheduler
#                                                        calls from its own container)
#   DICOM_MODALITIES                                     where results may be forwarded: blank
#                                                        separated NAME=AET@HOST:PORT entries
#   ORTHANC_ALLOWED_MODALITIES                           when set, the only DICOM nodes whose
#                                                        C-STORE is accepted: blank separated
#                                                        AET@IP entries (the sender's AE title
#                                                        and IP address, both checked); empty:
#                                                        any node may store (Orthanc's default)
#   ORTHANC_STORAGE                                      storage folder (default DIR/storage)
# Orthanc 1.10.1 always binds 0.0.0.0 (HttpBindAddresses comes with 1.12.10); with
# RemoteAccessAllowed false it answers HTTP from loopback only, but its DICOM port is open.
# Exit status: 0 written, 1 a bad setting (named) or a write error, 2 usage.
set -euo pipefail
DCMP_PROG=orthanc-config.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  '') echo "usage: scripts/native/orthanc-config.sh DIR" >&2; exit 2 ;;
esac
dir="$1"

http="${ORTHANC_HTTP_PORT:-8042}"
dicom="${ORTHANC_DICOM_PORT:-4242}"
aet="${ORTHANC_AET:-ORTHANC}"
stable="${STABLE_AGE:-5}"
timeout="${ORTHANC_HTTP_TIMEOUT:-5}"
user="${ORTHANC_REST_USERNAME:-}"
pass="${ORTHANC_REST_PASSWORD:-}"
bind="${ORTHANC_BIND:-${BIND_ADDRESS:-127.0.0.1}}"
remote_env="${ORTHANC_REMOTE_ACCESS:-}"
storage="${ORTHANC_STORAGE:-$dir}"

for v in http dicom stable timeout; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || dcmp_die "$v setting \"${!v}\": not a number"
done
[ "$stable" -ge 1 ] || dcmp_die "STABLE_AGE=$stable: must be at least 1 (Orthanc reads 0 as 60 s)"
[ "$timeout" -ge 1 ] || dcmp_die "ORTHANC_HTTP_TIMEOUT=$timeout: must be at least 1"
[[ "$aet" =~ ^[A-Za-z0-9_.-]{1,16}$ ]] || dcmp_die "ORTHANC_AET=$aet: 1 to 16 letters, digits, _ . -"
if { [ -n "$user" ] && [ -z "$pass" ]; } || { [ -z "$user" ] && [ -n "$pass" ]; }; then
  dcmp_die "ORTHANC_REST_USERNAME and ORTHANC_REST_PASSWORD: give both or neither"
fi

auth=false
remote=false
users='{}'
if [ -n "$user" ]; then
  auth=true
  users="{$(dcmp_json_str "$user"): $(dcmp_json_str "$pass")}"
  case "$bind" in 127.*|localhost|::1) ;; *) remote=true ;; esac
fi
case "$remote_env" in
  '') ;;
  true|false) remote="$remote_env" ;;
  *) dcmp_die "ORTHANC_REMOTE_ACCESS=$remote_env: true or false" ;;
esac

# DICOM_MODALITIES="PACS=PACS_AET@10.0.0.5:104 ARCHIVE=ARCH@archive:11112": the DICOM nodes
# results may be forwarded to (a stored result names one in its ActionDestination tag).
modalities=""
dest_entries=()
for m in ${DICOM_MODALITIES:-}; do
  [[ "$m" =~ ^([A-Za-z0-9_-]{1,64})=([A-Za-z0-9_.-]{1,16})@([A-Za-z0-9_.:-]{1,253}):([0-9]{1,5})$ ]] ||
    dcmp_die "DICOM_MODALITIES entry \"$m\": expected NAME=AET@HOST:PORT"
  entry="$(dcmp_json_str "${BASH_REMATCH[1]}"): {\"AET\": $(dcmp_json_str "${BASH_REMATCH[2]}"), \"Host\": $(dcmp_json_str "${BASH_REMATCH[3]}"), \"Port\": ${BASH_REMATCH[4]}"
  [[ ! "$m" =~ ^sender-[0-9]+= ]] ||
    dcmp_die "DICOM_MODALITIES entry \"$m\": the names sender-N are ORTHANC_ALLOWED_MODALITIES' own"
  dest_entries+=("$entry")
done

# ORTHANC_ALLOWED_MODALITIES="CT1@10.0.0.7 PACS_AET@10.0.0.5": the nodes that may C-STORE; with
# any listed, Orthanc refuses a store from every other AE title or address (DicomAlwaysAllowStore
# false, DicomCheckModalityHost true). Each becomes a DicomModalities entry "sender-N" that may
# only store and echo; the destinations above may then no longer store unless listed here too.
always_store=true
check_host=false
allow_dest=""
n=0
for m in ${ORTHANC_ALLOWED_MODALITIES:-}; do
  [[ "$m" =~ ^([A-Za-z0-9_.-]{1,16})@([0-9A-Fa-f.:]{2,45})$ ]] ||
    dcmp_die "ORTHANC_ALLOWED_MODALITIES entry \"$m\": expected AET@IP (an IP address: Orthanc compares it with the sender's)"
  n=$((n + 1))
  always_store=false check_host=true allow_dest=', "AllowStore": false'
  [ -z "$modalities" ] || modalities+=", "
  modalities+="\"sender-$n\": {\"AET\": $(dcmp_json_str "${BASH_REMATCH[1]}"), \"Host\": $(dcmp_json_str "${BASH_REMATCH[2]}"), \"Port\": 104, \"AllowStore\": true, \"AllowEcho\": true, \"AllowFind\": false, \"AllowFindWorklist\": false, \"AllowMove\": false, \"AllowGet\": false, \"AllowStorageCommitment\": false}"
done

for e in "${dest_entries[@]}"; do
  [ -z "$modalities" ] || modalities+=", "
  modalities+="$e$allow_dest}"
done

mkdir -p "$dir" "$storage/storage" "$storage/index"
src="$DCMP_ROOT/docker/orthanc/dcm-processor.lua"
[ -r "$src" ] || dcmp_die "$src: the Orthanc Lua script is missing"
cp "$src" "$dir/dcm-processor.lua.tmp"
mv "$dir/dcm-processor.lua.tmp" "$dir/dcm-processor.lua"

# The DCM-PROCESSOR private tags (docker/orthanc/dictionary.json, the one definition the tests
# use too): the Lua script reads ActionSource and ActionDestination by name.
dict_file="$DCMP_ROOT/docker/orthanc/dictionary.json"
[ -r "$dict_file" ] || dcmp_die "$dict_file: the private dictionary is missing"
dictionary="$(sed '1d;$d' "$dict_file")"
[[ "$dictionary" == *'"Dictionary"'* ]] || dcmp_die "$dict_file: no \"Dictionary\" object in it"

tmp="$dir/orthanc.json.tmp"
(
  umask 077
  cat > "$tmp" <<EOF
{
  "Name": $(dcmp_json_str "dcm-processor $aet"),
  "StorageDirectory": $(dcmp_json_str "$storage/storage"),
  "IndexDirectory": $(dcmp_json_str "$storage/index"),
  "StorageCompression": false,
  "Plugins": [],
  "HttpServerEnabled": true,
  "HttpPort": $http,
  "HttpTimeout": $timeout,
  "RemoteAccessAllowed": $remote,
  "AuthenticationEnabled": $auth,
  "RegisteredUsers": $users,
  "DicomServerEnabled": true,
  "DicomAet": $(dcmp_json_str "$aet"),
  "DicomPort": $dicom,
  "DicomCheckCalledAet": false,
  "DicomAlwaysAllowStore": $always_store,
  "DicomCheckModalityHost": $check_host,
  "StableAge": $stable,
  "LuaScripts": [$(dcmp_json_str "$dir/dcm-processor.lua")],
  "ExecuteLuaEnabled": false,
  "SaveJobs": false,
  "DicomModalities": {$modalities},
$dictionary
}
EOF
)
mv "$tmp" "$dir/orthanc.json"
