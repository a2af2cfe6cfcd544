# Shared by start.sh and test.sh: install what is missing, never more.
say() { printf '\033[1m[maillab]\033[0m %s\n' "$*" >&2; }

ensure_node_modules() {
  # Reinstall when package-lock.json changed since the last install.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (npm ci) ..."
    npm ci --no-audit --no-fund >&2
  fi
}

# Everything `next build` reads. Next bundles not only app/, components/ and lib/ but whatever
# they import: server/api, server/auth, server/context.ts, server/http-error.ts, server/pages and
# their imports, so all of server/ counts (an edit to a module only the custom server uses costs
# one needless rebuild; a missed one serves stale route logic). Tests and fixtures are not bundled.
NEXT_BUILD_INPUTS="app components lib server public next.config.ts tsconfig.json package.json package-lock.json postcss.config.mjs"
NEXT_BUILD_STAMP=.next/.sources-stamp

next_build_find() {
  # Missing inputs (no public/) are fine. shellcheck disable=SC2086: the list splits on purpose.
  # shellcheck disable=SC2086
  find $NEXT_BUILD_INPUTS -type f ! -name '*.test.ts' ! -name '*.test.tsx' ! -path '*/__fixtures__/*' "$@" 2>/dev/null || true
}

next_build_sources() { next_build_find | LC_ALL=C sort; }

next_build_stale() {
  # Prints why the last build is stale (nothing when it is fresh). The stamp holds the list of
  # sources the build saw and carries the time the build started: an edit during a build, a new
  # file and a deleted one all count.
  if [ ! -f .next/BUILD_ID ] || [ ! -f "$NEXT_BUILD_STAMP" ]; then echo "no build yet"; return 0; fi
  local newer
  newer=$(next_build_find -newer "$NEXT_BUILD_STAMP" -print -quit)
  if [ -n "$newer" ]; then echo "$newer changed"; return 0; fi
  if [ "$(next_build_sources)" != "$(cat "$NEXT_BUILD_STAMP")" ]; then echo "files were added or removed"; fi
  return 0
}

record_next_build_stamp() {
  # $1: the sources the build saw (next_build_sources before it started); $2: its start
  # (epoch seconds with nanoseconds, date +%s.%N): an edit after that instant counts as newer.
  printf '%s\n' "$1" > "$NEXT_BUILD_STAMP"
  touch -d "@$2" "$NEXT_BUILD_STAMP"
}

ensure_next_build() {
  # Rebuild the web app when its sources changed since the last build. Under a lock: two starts at
  # once (parallel test runs) must not write into the same .next folder together.
  exec 9>.next-build.lock
  flock 9
  local reason started sources
  reason=$(next_build_stale)
  if [ -n "$reason" ]; then
    say "building the web app (next build; $reason) ..."
    started=$(date +%s.%N)
    sources=$(next_build_sources)
    NODE_ENV=production npx next build >&2
    record_next_build_stamp "$sources" "$started"
  fi
  flock -u 9
  exec 9>&-
}
