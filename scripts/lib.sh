# Shared by start.sh and test.sh: install what is missing, never more.
say() { printf '\033[1m[maillab]\033[0m %s\n' "$*" >&2; }

ensure_node_modules() {
  # Reinstall when package-lock.json changed since the last install.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (npm ci) ..."
    npm ci --no-audit --no-fund >&2
  fi
}

ensure_next_build() {
  # Rebuild the web app when any source is newer than the last build. Under a lock: two starts at
  # once (parallel test runs) must not write into the same .next folder together.
  exec 9>.next-build.lock
  flock 9
  if [ ! -f .next/BUILD_ID ] || [ -n "$(find app components lib server/pages next.config.ts package-lock.json -newer .next/BUILD_ID -print -quit 2>/dev/null)" ]; then
    say "building the web app (next build) ..."
    NODE_ENV=production npx next build >&2
  fi
  flock -u 9
  exec 9>&-
}
