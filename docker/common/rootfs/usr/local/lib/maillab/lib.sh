# Shared helpers for maillab-init and the machine hooks (sourced, not executed).
# shellcheck shell=bash

MAILLAB_RUN_DIR=/run/maillab
MAILLAB_READY=$MAILLAB_RUN_DIR/ready
MAILLAB_STATE_DIR=/var/lib/maillab
# The environment the daemons get: nothing of the container's env (which holds
# the learners' passwords) leaks into long-running processes.
MAILLAB_DAEMON_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

log() { printf '[maillab-init] %s\n' "$*"; }

# Reads and validates the env contract (see server/docker/machine-spec.ts).
# Invalid values are dropped with a message instead of reaching config files.
maillab_read_env() {
  MACHINE=${MAILLAB_MACHINE:-}
  DOMAIN=${MAILLAB_DOMAIN:-example.test}
  DOMAIN=${DOMAIN,,}
  if ! [[ $DOMAIN =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$ ]]; then
    log "MAILLAB_DOMAIN '$DOMAIN' is not a domain name; using example.test"
    DOMAIN=example.test
  fi
  USER1=${MAILLAB_USER1:-}
  USER2=${MAILLAB_USER2:-}
  PASSWORD1=${MAILLAB_PASSWORD1:-}
  PASSWORD2=${MAILLAB_PASSWORD2:-}
}

# valid_user NAME: a plain lower-case login name that is not already a system account.
valid_user() {
  [[ $1 =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || return 1
  return 0
}

# valid_password PW: non-empty, printable, no ':' or newline (chpasswd's format).
valid_password() {
  [ -n "$1" ] && [[ $1 != *:* ]] && [[ $1 =~ ^[[:print:]]+$ ]]
}

random_password() {
  local pw=''
  while [ ${#pw} -lt 12 ]; do
    pw+=$(head -c 32 /dev/urandom | tr -dc 'a-km-zA-HJ-NP-Z2-9')
  done
  printf '%s' "${pw:0:12}"
}

# ensure_user NAME PASSWORD: a normal local user with home, bash and that password.
ensure_user() {
  local name=$1 pw=$2
  [ -n "$name" ] || return 0
  if ! valid_user "$name"; then
    log "user name '$name' is invalid; skipped"
    return 1
  fi
  if ! valid_password "$pw"; then
    [ -n "$pw" ] && log "password for $name is invalid (empty, ':' or control characters); generating one"
    pw=$(random_password)
    log "password for $name: $pw"
  fi
  if ! id -u "$name" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$name" || return 1
  fi
  printf '%s:%s\n' "$name" "$pw" | chpasswd
}

# svc_enabled NAME: installed and enabled for runlevel 2 (what `systemctl
# enable/disable` and update-rc.d change), i.e. it would start on boot.
svc_enabled() {
  [ -x "/etc/init.d/$1" ] || return 1
  compgen -G "/etc/rc2.d/S[0-9][0-9]$1" >/dev/null
}

# pid_of_file FILE: the pid in FILE if that process is alive.
pid_of_file() {
  local pid
  [ -r "$1" ] || return 1
  read -r pid <"$1" 2>/dev/null || return 1
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# stop_pidfiles SECONDS FILE...: SIGTERM to each live pid, wait until all are gone.
stop_pidfiles() {
  local limit=$1 f pid pids=() i
  shift
  for f in "$@"; do
    if pid=$(pid_of_file "$f"); then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  for ((i = 0; i < limit * 20; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.05
  done
  return 1
}
