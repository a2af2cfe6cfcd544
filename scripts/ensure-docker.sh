#!/usr/bin/env bash
# Makes sure a Docker engine answers. Used by `npm start`, `npm test` and .ci/run.
# - If DOCKER_HOST is set or the default socket answers: nothing to do.
# - As root with no engine: installs Debian's docker.io (if dockerd is missing)
#   and starts dockerd in the background, logging to /var/log/maillab-dockerd.log. That engine
#   keeps its data on a loop-mounted btrfs (/var/lib/maillab-docker, quotas on), so every lab
#   machine gets a hard disk limit (--storage-opt size=, docs/security.md "Disk"); where btrfs
#   cannot be had (MAILLAB_DOCKER_BTRFS=0, no kernel support) it runs on the default driver and
#   the app's disk watchdog enforces the limit instead. Debian's crun is offered as an
#   additional runtime for comparison (`npm run bench -- environments`); the machines run on runc
#   (docs/performance.md "Container runtime").
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
  apt-get install -y -q docker.io iptables btrfs-progs crun >&2
fi

BTRFS_ROOT=/var/lib/maillab-docker
BTRFS_IMAGE=/var/lib/maillab-docker.btrfs

# Quotas make Docker's `--storage-opt size=` a hard limit. Simple quotas (kernel 6.7+) cost
# nothing per container; full qgroups, the fallback, make every `docker create` 1–2 s slower
# (measured here: 0.05 s vs 1.2–1.9 s). btrfs-progs in Debian 12 (6.2) cannot enable simple
# quotas, so perl (essential in Debian) calls the ioctl: BTRFS_IOC_QUOTA_CTL =
# _IOWR(0x94, 40, {u64 cmd; u64 status}), cmd 4 = BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA.
enable_quotas() {
  if btrfs qgroup show "$1" >/dev/null 2>&1; then return 0; fi
  if perl -e 'open(my $fh, "<", $ARGV[0]) or die "$!\n"; my $args = pack("QQ", 4, 0); ioctl($fh, 0xC0109428, $args) or die "$!\n"' "$1" 2>/dev/null; then
    say "btrfs simple quotas on: every lab machine gets a hard disk limit"
  else
    say "this kernel has no btrfs simple quotas: full quotas (hard disk limits; each container start costs ~1 s more)"
    btrfs quota enable "$1" >&2 || say "btrfs quotas could not be enabled: disk limits by watchdog"
  fi
}

# Prints dockerd's storage arguments: the btrfs data root when it can be had, else nothing.
btrfs_data_root() {
  [ "${MAILLAB_DOCKER_BTRFS:-1}" = "1" ] || return 0
  if ! command -v mkfs.btrfs >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q btrfs-progs >&2 || return 0
  fi
  grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
  grep -qw btrfs /proc/filesystems || { say "no btrfs in this kernel: the default storage driver, disk limits by watchdog"; return 0; }
  if ! mountpoint -q "$BTRFS_ROOT"; then
    if [ ! -f "$BTRFS_IMAGE" ]; then
      # Sparse: it takes only what the images and machines write. Half the free space, 16–200 GiB.
      local free_k size_g
      free_k=$(df -Pk "$(dirname "$BTRFS_IMAGE")" | awk 'NR == 2 { print $4 }')
      size_g=$(( free_k / 1024 / 1024 / 2 ))
      [ "$size_g" -lt 16 ] && size_g=16
      [ "$size_g" -gt 200 ] && size_g=200
      say "creating a ${size_g} GiB sparse btrfs file for Docker's data ($BTRFS_IMAGE) ..."
      truncate -s "${size_g}G" "$BTRFS_IMAGE"
      mkfs.btrfs -q "$BTRFS_IMAGE" >&2 || { rm -f "$BTRFS_IMAGE"; return 0; }
    fi
    mkdir -p "$BTRFS_ROOT"
    # discard: space freed inside (removed machines) is given back to the host's disk.
    mount -o loop,discard "$BTRFS_IMAGE" "$BTRFS_ROOT" >&2 || { say "could not mount $BTRFS_IMAGE: the default storage driver"; return 0; }
  fi
  enable_quotas "$BTRFS_ROOT"
  printf '%s\n' --data-root "$BTRFS_ROOT" --storage-driver btrfs
}

# Where systemd runs, let it own the daemon; in containers and CI sandboxes it does not.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start docker >&2 || true
fi

if ! engine_answers; then
  mapfile -t args < <(btrfs_data_root)
  if command -v crun >/dev/null 2>&1; then args+=(--add-runtime "crun=$(command -v crun)"); fi
  say "Starting dockerd ${args[*]} in the background (log: /var/log/maillab-dockerd.log) ..."
  # setsid: the daemon must outlive the shell (and npm) that started it.
  setsid dockerd "${args[@]}" >/var/log/maillab-dockerd.log 2>&1 < /dev/null &
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
