#!/usr/bin/env bash
# Builds the lab machines' base image when no registry answers for debian:bookworm-slim:
# debootstrap (minbase) from the Debian mirror in the host's apt sources, then `docker import`.
# Usage: build-base.sh <image-tag>     (needs root, debootstrap, a Docker engine)
set -euo pipefail
tag=${1:?usage: build-base.sh <image-tag>}
say() { printf '[base-image] %s\n' "$*" >&2; }

mirror=${MAILLAB_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # First http(s) Debian mirror named in the host's apt sources (deb822 or one-line form).
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -v security | head -n1 | tr -d ' ' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    say "installing debootstrap ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
  else
    say "debootstrap is missing; install it (apt-get install debootstrap) or run as root."; exit 1
  fi
fi

work=$(mktemp -d /tmp/maillab-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "debootstrap bookworm (minbase) from $mirror ..."
debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror" >&2

# Same shape as debian:bookworm-slim: apt sources pointing at the mirror, no docs/locales kept.
cat > "$work/rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
SRC
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
say "importing as $tag ..."
tar -C "$work/rootfs" -c . | docker import --change 'CMD ["bash"]' - "$tag" >&2
say "done: $tag"
