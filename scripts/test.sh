#!/usr/bin/env bash
# `npm test`: every test, against the real Docker engine and Debian's Chromium.
# Installs what is missing (npm deps, docker.io, chromium), builds the lab images and
# the web app, then runs vitest (unit, integration and browser tests) once.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node_modules
bash scripts/ensure-docker.sh
bash scripts/ensure-chromium.sh
say "making sure the lab images exist ..."
npx tsx scripts/build-images.ts
ensure_next_build
mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
# One plain closing line for CI: "N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
