#!/usr/bin/env bash
# `npm start`: everything a fresh Debian machine needs, then the app on $PORT (default 3000).
# Installs npm deps, makes sure a Docker engine answers (installing Debian's docker.io as root),
# builds the web app, and starts the server, which builds the lab images if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node_modules
bash scripts/ensure-docker.sh
ensure_next_build
say "starting (lab images are built on first start if missing; progress follows) ..."
export NODE_ENV=production
exec npx tsx server/main.ts
