#!/usr/bin/env bash
# Makes sure a Docker engine answers. Used by `npm start`, `npm test` and .ci/run.
# - If DOCKER_HOST is set or the default socket answers: nothing to do.
# - As root with no engine: installs Debian's docker.io (if dockerd is missing)
#   and starts dockerd in the background, logging to /var/log/maillab-dockerd.log.
# - Otherwise: prints what to do and exits 1.
set -euo pipefail

say() { printf '[ensure-docker] %s\n' "$*" >&2; }

engine_answers() {
  # `docker info` needs the CLI; fall back to curl on the socket where the CLI is missing.
  if command -v docker >/dev/null 2>&1; then
    docker info >/dev/null 2>&1
  else
    curl -fsS --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1
  fi
}

if engine_answers; then
  say "Docker engine answers."
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  say "DOCKER_HOST=$DOCKER_HOST is set but the engine does not answer. Start it there, or unset DOCKER_HOST."
  exit 1
fi

if [ "$(id -u)" != "0" ]; then
  say "No Docker engine answers and this is not root."
  say "Install and start one: sudo apt-get install -y docker.io && sudo systemctl start docker,"
  say "then add yourself to the docker group (sudo usermod -aG docker \$USER) and log in again."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "Installing Debian's docker.io (dockerd, containerd, runc) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q docker.io iptables >&2
fi

# Where systemd runs, let it own the daemon; in containers and CI sandboxes it does not.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start docker >&2 || true
fi

if ! engine_answers; then
  say "Starting dockerd in the background (log: /var/log/maillab-dockerd.log) ..."
  # setsid: the daemon must outlive the shell (and npm) that started it.
  setsid dockerd >/var/log/maillab-dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if engine_answers; then
    say "Docker engine answers."
    exit 0
  fi
  sleep 0.5
done
say "dockerd did not answer within 30 s; see /var/log/maillab-dockerd.log"
tail -n 20 /var/log/maillab-dockerd.log >&2 || true
exit 1
