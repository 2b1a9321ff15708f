#!/usr/bin/env bash
# common.sh -- shell helpers shared by run.sh, init.sh, service.sh and scripts/native/*: reading
# the stack's .env the way the daemons do (environment wins), the stack's folders, pid files.
# Sourced, never run: `. scripts/native/common.sh`. Defines functions and DCMP_* variables only.
#
# .env syntax (as src/util/config.c): KEY=VALUE lines, `#` comments, optional `export `;
# '...' taken as is; "..." or bare values expand ${NAME} and $NAME from the environment, then
# from earlier keys of the file; a bare value ends at " #". A variable already in the
# process environment overrides the file. Nothing is ever eval'ed.

# The repository root (this file is ROOT/scripts/native/common.sh).
DCMP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Everything a script makes (and every daemon run.sh starts: they inherit it) is its owner's
# alone: BASEDIR holds patient data and .env the stack's secrets.
umask 077

# dcmp_die MESSAGE [CODE]: prints "PROG: MESSAGE" on stderr and exits with CODE (default 1).
dcmp_die() {
  echo "${DCMP_PROG:-dcm-processor}: $1" >&2
  exit "${2:-1}"
}

dcmp_say() { echo "${DCMP_PROG:-dcm-processor}: $*"; }

# dcmp_compose ARGS...: Docker Compose, the plugin (docker compose) or the older program.
dcmp_compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi
}

# dcmp_expand TEXT: prints TEXT with ${NAME} and $NAME replaced by the process environment's
# value when it was set before the file was read (DCMP_PRESET), else the file's earlier keys
# (DCMP_FILEVAL), else nothing.
dcmp_expand() {
  local rest="$1" out="" name
  local re='^([^$]*)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$'
  while [[ "$rest" == *'$'* ]]; do
    if [[ "$rest" =~ $re ]]; then
      out+="${BASH_REMATCH[1]}"
      name="${BASH_REMATCH[3]}${BASH_REMATCH[4]}"
      rest="${BASH_REMATCH[5]}"
      # the environment overrides the file here too (as src/util/config.c)
      if [ -n "${DCMP_PRESET[$name]-}" ]; then
        out+="${!name-}"
      elif [[ -v "DCMP_FILEVAL[$name]" ]]; then
        out+="${DCMP_FILEVAL[$name]}"
      else
        out+="${!name-}"
      fi
    else
      # a '$' not followed by a name stays as it is
      out+="${rest%%\$*}\$"
      rest="${rest#*\$}"
    fi
  done
  printf '%s' "$out$rest"
}

# dcmp_env_load FILE: reads FILE and exports every key that the environment does not set.
# Fails (exit 1) naming the file and line for a line that is not KEY=VALUE.
dcmp_env_load() {
  local file="$1" line n=0 key value
  declare -gA DCMP_FILEVAL=()
  declare -gA DCMP_PRESET=()
  for key in $(compgen -e); do DCMP_PRESET["$key"]=1; done
  [ -r "$file" ] || dcmp_die "$file: cannot read the settings file"
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line="${line%$'\r'}"
    line="${line#"${line%%[![:space:]]*}"}"
    [ -z "$line" ] && continue
    [[ "$line" == '#'* ]] && continue
    [[ "$line" == 'export '* ]] && line="${line#export }" && line="${line#"${line%%[![:space:]]*}"}"
    if [[ ! "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
      dcmp_die "$file:$n: not a KEY=VALUE line"
    fi
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    if [[ "$value" == "'"* ]]; then
      value="${value#\'}"
      [[ "$value" == *"'"* ]] || dcmp_die "$file:$n: $key: no closing quote"
      value="${value%%\'*}"
    elif [[ "$value" == '"'* ]]; then
      value="${value#\"}"
      [[ "$value" == *'"'* ]] || dcmp_die "$file:$n: $key: no closing quote"
      value="$(dcmp_expand "${value%%\"*}")"
    else
      value="${value%% #*}"
      value="${value%"${value##*[![:space:]]}"}"
      value="$(dcmp_expand "$value")"
    fi
    DCMP_FILEVAL["$key"]="$value"
    if [ -z "${DCMP_PRESET[$key]-}" ]; then
      export "$key=$value"
    fi
  done < "$file"
}

# dcmp_abspath PATH BASE: PATH made absolute against BASE (no need for it to exist).
dcmp_abspath() {
  case "$1" in
    /*) printf '%s' "$1" ;;
    .) printf '%s' "$2" ;;
    ./*) printf '%s/%s' "$2" "${1#./}" ;;
    *) printf '%s/%s' "$2" "$1" ;;
  esac
}

# dcmp_env_private FILE: a settings file others can read (a .env made by hand, mode 644) is
# made owner-only and the change said on stderr (by its owner or root); a file of someone else
# is only warned about.
# The shipped template (.env.example, no secrets in it) is left alone.
dcmp_env_private() {
  local mode
  [ "$1" != "$DCMP_ROOT/.env.example" ] || return 0
  mode="$(stat -c %a -- "$1" 2>/dev/null)" || return 0
  [ $((8#$mode & 8#077)) -ne 0 ] || return 0
  if { [ -O "$1" ] || [ "$(id -u)" -eq 0 ]; } && chmod go-rwx -- "$1" 2>/dev/null; then
    echo "${DCMP_PROG:-dcm-processor}: $1 was readable by other users (mode $mode): made it owner-only ($(stat -c %a -- "$1")), as it holds the stack's secrets" >&2
  else
    echo "${DCMP_PROG:-dcm-processor}: warning: $1 is readable by other users (mode $mode) and holds the stack's secrets: chmod 600 $1 (as its owner, $(stat -c %U -- "$1"))" >&2
  fi
}

# dcmp_settings [ENVFILE]: loads the settings (ENVFILE, else $DCMP_ENV when set, else ROOT/.env
# when it exists) and sets every path to an absolute one, exported for the daemons. Relative
# paths in .env are taken from the .env file's folder (as docker-compose.yml does), relative
# paths in the environment from the working directory.
dcmp_settings() {
  local envfile="${1:-}" base
  if [ -z "$envfile" ]; then
    if [ -n "${DCMP_ENV+x}" ]; then
      envfile="$DCMP_ENV"
    elif [ -e "$DCMP_ROOT/.env" ]; then
      envfile="$DCMP_ROOT/.env"
    elif [ -r "$DCMP_ROOT/.env.example" ]; then
      # first use: the stack's own settings from the shipped template, readable by its owner
      # only (it will hold secrets); .env is not tracked by git
      (umask 077 && cp "$DCMP_ROOT/.env.example" "$DCMP_ROOT/.env")
      envfile="$DCMP_ROOT/.env"
      dcmp_say "made $envfile from .env.example: the settings of this stack (edit it; it is not tracked by git)" >&2
    fi
  fi
  local -A preset=()
  local key
  for key in $(compgen -e); do preset["$key"]=1; done
  DCMP_ENVFILE=""
  base="$PWD"
  if [ -n "$envfile" ]; then
    DCMP_ENVFILE="$(cd "$(dirname "$envfile")" && pwd)/$(basename "$envfile")"
    dcmp_env_private "$DCMP_ENVFILE"
    dcmp_env_load "$DCMP_ENVFILE"
  fi
  # where a relative path is taken from: the .env's folder unless the environment gave it
  _dcmp_base() {
    if [ -n "${preset[$1]-}" ] || [ -z "$DCMP_ENVFILE" ]; then printf '%s' "$PWD"; else dirname "$DCMP_ENVFILE"; fi
  }
  export BASEDIR="$(dcmp_abspath "${BASEDIR:-.}" "$(_dcmp_base BASEDIR)")"
  BASEDIR="${BASEDIR%/}"
  export REGISTRY="$(dcmp_abspath "${REGISTRY:-$BASEDIR/registry}" "$(_dcmp_base REGISTRY)")"
  export MODULES="$(dcmp_abspath "${MODULES:-$BASEDIR/modules}" "$(_dcmp_base MODULES)")"
  export DATA="$(dcmp_abspath "${DATA:-$BASEDIR/data}" "$(_dcmp_base DATA)")"
  export LOGS="$(dcmp_abspath "${LOGS:-$BASEDIR/logs}" "$(_dcmp_base LOGS)")"
  export SETTINGS="$(dcmp_abspath "${SETTINGS:-$(dirname "$REGISTRY")/settings.json}" "$(_dcmp_base SETTINGS)")"
  unset -f _dcmp_base
  DCMP_RUN="$BASEDIR/run"
  export REDIS_PORT="${REDIS_PORT:-6379}"
  export ORTHANC_HTTP_PORT="${ORTHANC_HTTP_PORT:-8042}"
  export ORTHANC_DICOM_PORT="${ORTHANC_DICOM_PORT:-4242}"
  export ORTHANC_AET="${ORTHANC_AET:-ORTHANC}"
  export SCHEDULER_PORT="${SCHEDULER_PORT:-5000}"
  export DASHBOARD_PORT="${DASHBOARD_PORT:-8080}"
  export BIND_ADDRESS="${BIND_ADDRESS:-127.0.0.1}"
  # Redis and Orthanc listen beyond BIND_ADDRESS only when the settings say so (worker hosts)
  export REDIS_BIND="${REDIS_BIND:-$BIND_ADDRESS}"
  export ORTHANC_BIND="${ORTHANC_BIND:-$BIND_ADDRESS}"
  local p
  for p in REDIS_PORT ORTHANC_HTTP_PORT ORTHANC_DICOM_PORT SCHEDULER_PORT DASHBOARD_PORT; do
    [[ "${!p}" =~ ^[0-9]+$ ]] && [ "${!p}" -ge 1 ] && [ "${!p}" -le 65535 ] ||
      dcmp_die "$p=${!p}: not a port number (1-65535)${DCMP_ENVFILE:+ (from $DCMP_ENVFILE or the environment)}"
  done
}

# dcmp_basedir_own deep|flat PATH...: when run as root on a BASEDIR that belongs to another
# user, hands PATHs (what the script just made there; deep: with everything in them) to
# BASEDIR's owner, so the daemons, which run as that user, can use them. Nothing otherwise.
dcmp_basedir_own() {
  local owner depth=()
  [ "$1" = deep ] || depth=(-maxdepth 0)
  shift
  [ "$(id -u)" -eq 0 ] || return 0
  owner="$(stat -c %u:%g -- "$BASEDIR" 2>/dev/null)" || return 0
  [ "${owner%%:*}" != 0 ] || return 0
  find "$@" "${depth[@]}" \( ! -uid "${owner%%:*}" -o ! -gid "${owner##*:}" \) -exec chown -h -- "$owner" {} +
}

# dcmp_pid_alive PIDFILE EXE: prints the pid and succeeds when PIDFILE names a live process
# running EXE (compared through /proc/PID/exe, so a reused pid is not mistaken for ours).
dcmp_pid_alive() {
  local pid exe
  [ -r "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink -f "/proc/$pid/exe" 2>/dev/null)" || return 1
  [ "$exe" = "$(readlink -f "$2")" ] || return 1
  # a zombie is not alive
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  printf '%s' "$pid"
}

# dcmp_stop PIDFILE EXE NAME GRACE: SIGTERM, waits GRACE seconds, then SIGKILL; removes PIDFILE.
dcmp_stop() {
  local pid i
  if pid="$(dcmp_pid_alive "$1" "$2")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $4 * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      echo "${DCMP_PROG:-dcm-processor}: $3 (pid $pid) still runs after ${4}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    dcmp_say "stopped $3 (pid $pid)"
  fi
  rm -f "$1"
}

# dcmp_json_str TEXT: TEXT as a JSON string literal.
dcmp_json_str() {
  local s="$1" out="" c i
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    if [[ "$c" < ' ' ]] && [[ "$c" != '' ]]; then
      printf -v c '\\u%04x' "'$c"
    fi
    out+="$c"
  done
  printf '"%s"' "$out"
}

# dcmp_curl_login USER PASSWORD: prints a curl configuration giving this login, for
# `dcmp_curl_login U P | curl -K - ...`: the password reaches curl on its stdin, never on a
# command line (which ps shows every local user). Prints nothing without a user.
dcmp_curl_login() {
  [ -n "$1" ] || return 0
  local s="$1:$2"
  s="${s//\\/\\\\}"
  printf 'user = "%s"\n' "${s//\"/\\\"}"
}

# dcmp_random_hex BYTES: prints BYTES random bytes from /dev/urandom as hex digits.
dcmp_random_hex() {
  local hex
  hex="$(head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n')"
  [ ${#hex} -eq $(($1 * 2)) ] || dcmp_die "cannot read $1 random bytes from /dev/urandom"
  printf '%s' "$hex"
}

# dcmp_env_writable WHAT: fails (naming WHAT) unless DCMP_ENVFILE is a settings file a new
# secret can be kept in: writable, and not the shipped template.
dcmp_env_writable() {
  [ -n "$DCMP_ENVFILE" ] && [ -w "$DCMP_ENVFILE" ] ||
    dcmp_die "$1 is not set and there is no writable .env to keep a new one: set it (e.g. openssl rand -hex 32)"
  [ "$DCMP_ENVFILE" != "$DCMP_ROOT/.env.example" ] ||
    dcmp_die "$1 is not set and $DCMP_ENVFILE is the shipped template: copy it to .env (run.sh does so without --env) or set $1"
}

# dcmp_secret_ensure: makes sure ANONYMIZER_SECRET is set (the dicomAnonymizer service keys new
# pseudonyms with it and refuses to run without it). When neither the environment nor the
# settings file sets it, a random one (64 hex digits) is written into the settings file
# (DCMP_ENVFILE), replacing an empty ANONYMIZER_SECRET= line or appended, and exported. The same
# secret must be kept: pseudonyms made with another one differ. Fails without a file to keep it.
dcmp_secret_ensure() {
  local secret
  [ -z "${ANONYMIZER_SECRET:-}" ] || return 0
  dcmp_env_writable ANONYMIZER_SECRET
  secret="$(dcmp_random_hex 32)"
  local re='^[[:space:]]*(export[[:space:]]+)?ANONYMIZER_SECRET[[:space:]]*=[[:space:]]*$' line out="" found=0
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ $re ]] && line="ANONYMIZER_SECRET=$secret" found=1
    out+="$line"$'\n'
  done < "$DCMP_ENVFILE"
  if [ $found = 1 ]; then
    # rewritten in place by the shell itself (owner and mode kept): a sed or any other
    # program would carry the secret on its command line, which ps shows every local user
    printf '%s' "$out" > "$DCMP_ENVFILE"
  else
    printf '\n# written by %s: keys the anonymizer'"'"'s pseudonyms; keep it, keep it secret\nANONYMIZER_SECRET=%s\n' \
      "${DCMP_PROG:-dcm-processor}" "$secret" >> "$DCMP_ENVFILE"
  fi
  export ANONYMIZER_SECRET="$secret"
  dcmp_say "wrote a new random ANONYMIZER_SECRET into $DCMP_ENVFILE: keep it (pseudonyms depend on it) and keep it out of version control"
}

# The stack's logins: PASSWORD_VAR USER_VAR DEFAULT_USER WHAT-IT-OPENS-WHEN-EMPTY, one a line
# (USER_VAR - for a token alone). REDIS_PSWD also answers to REDIS_PASSWORD.
DCMP_LOGINS="REDIS_PSWD - - Redis asks no password: every local user can read and change the queues and events
WEBHOOK_TOKEN - - the scheduler takes webhooks without a token: whoever reaches its port can post events
ORTHANC_REST_PASSWORD ORTHANC_REST_USERNAME dcmp Orthanc's REST API has no login: every local user can read the images
DASHBOARD_PASSWORD DASHBOARD_USER admin the dashboard has no login (loopback only): every local user can see and act on the jobs"

# dcmp_logins_ensure GENERATE: the stack's logins closed by default. A password or token that
# neither the environment nor the settings file names is generated (GENERATE=1: a stack that
# does not run yet), appended to the settings file (DCMP_ENVFILE, owner-only) with its user
# name when that is missing too, and exported; the dashboard's login is printed once, the
# others are only named (the daemons read them from the file). One set explicitly empty keeps
# that part open, as before, and is said at every start.
dcmp_logins_ensure() {
  local generate="$1" pass user def what val set uval uset new="" shown="" secret
  while read -r pass user def what; do
    val="${!pass:-}" set="${!pass+x}" uval="" uset=""
    if [ "$pass" = REDIS_PSWD ]; then
      val="${REDIS_PSWD:-${REDIS_PASSWORD:-}}" set="$set${REDIS_PASSWORD+x}"
    fi
    [ "$user" = - ] || uval="${!user:-}" uset="${!user+x}"
    if [ -n "$set" ] || { [ -n "$uset" ] && [ -z "$uval" ]; }; then
      # given: an empty password (or user) keeps that part open, as it was
      if [ -z "$val" ] || { [ -n "$uset" ] && [ -z "$uval" ]; }; then
        dcmp_say "warning: ${pass}${uset:+/$user} set empty${DCMP_ENVFILE:+ in $DCMP_ENVFILE}: $what (remove the line to have one generated)" >&2
      fi
      continue
    fi
    [ "$generate" = 1 ] || continue
    dcmp_env_writable "$pass"
    [ -n "$new" ] || new="$(printf '\n# written by %s on %s: the stack'"'"'s logins (keep this file owner-only; a\n# value set empty turns that login off)' "${DCMP_PROG:-dcm-processor}" "$(date -u '+%Y-%m-%d %H:%M UTC')")"
    secret="$(dcmp_random_hex 24)"
    if [ "$user" != - ] && [ -z "${!user:-}" ]; then
      new+=$'\n'"$user=$def"
      export "$user=$def"
    fi
    new+=$'\n'"$pass=$secret"
    export "$pass=$secret"
    shown+=" $pass"
    [ "$pass" != DASHBOARD_PASSWORD ] ||
      dcmp_say "the dashboard's login: user ${DASHBOARD_USER}, password $secret (kept in $DCMP_ENVFILE; shown this once)"
  done <<< "$DCMP_LOGINS"
  [ -n "$new" ] || return 0
  printf '%s\n' "$new" >> "$DCMP_ENVFILE"
  dcmp_say "wrote new random logins into $DCMP_ENVFILE:$shown (the daemons read them from there)"
}

# dcmp_port_listened PORT: succeeds when something listens on TCP port PORT (any address), as
# /proc/net/tcp and tcp6 say (state 0A). Connections using the port as their local port (a
# port of the ephemeral range) are not seen: hence the advice below.
dcmp_port_listened() {
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p=":$hex" '$4 == "0A" && toupper(substr($2, length($2) - 4)) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# dcmp_ports_free "NAME=PORT ...": fails (naming each) when one of the ports is taken, before
# anything starts; a part that would otherwise fail halfway, the rest already up.
dcmp_ports_free() {
  local item bad=""
  for item in $1; do
    if dcmp_port_listened "${item#*=}"; then
      bad="$bad ${item%%=*}=${item#*=}"
    fi
  done
  [ -z "$bad" ] && return 0
  dcmp_die "port(s) in use:$bad. Choose free ports in your settings (outside the kernel's ephemeral range $(tr '\t' '-' < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null), which other programs' connections take)"
}

# dcmp_pick_port VAR: sets and exports VAR to a free loopback TCP port below the kernel's
# ephemeral range (20000-31999: a port of that range can be taken by any outgoing connection
# between this check and a bind), never one picked before by this shell (run it directly, not
# in $(...), so that the picks are remembered). For tests and benchmarks.
DCMP_PICKED_PORTS=""
dcmp_pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
    [[ " $DCMP_PICKED_PORTS " == *" $p "* ]] && continue
    DCMP_PICKED_PORTS="$DCMP_PICKED_PORTS $p"
    printf -v "$1" '%s' "$p"
    export "${1?}"
    return
  done
}
