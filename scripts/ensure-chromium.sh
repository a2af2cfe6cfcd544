#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through playwright-core (never a downloaded browser).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "[ensure-chromium] /usr/bin/chromium is missing: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "[ensure-chromium] installing Debian's chromium ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >&2 || { apt-get update -q >&2 && apt-get install -y -q chromium >&2; }
