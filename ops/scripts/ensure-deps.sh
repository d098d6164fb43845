#!/usr/bin/env bash
# ensure-deps.sh — install the npm dependencies, only when needed.
#
# Runs `npm ci` (or `npm install` when there is no package-lock.json) when
# node_modules is missing or older than the lockfile (package.json without a
# lockfile). Prints nothing when there is nothing to do.
#
# "Age of node_modules" is that of npm's hidden lockfile
# node_modules/.package-lock.json, which every npm install/ci rewrites at its
# end; the directory's own mtime only changes when a top-level entry is added
# or removed (`npm install some-pkg@other-version` leaves it older than
# package-lock.json, which would trigger a needless full `npm ci`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

log() { printf '[deps] %s\n' "$*"; }
die() {
  printf '[deps] ERROR: %s\n' "$*" >&2
  exit 1
}

[ -f package.json ] || die "no package.json in $ROOT"

if [ -f package-lock.json ]; then
  manifest=package-lock.json
  cmd=(npm ci)
else
  manifest=package.json
  cmd=(npm install)
fi

stamp=node_modules/.package-lock.json
[ -f "$stamp" ] || stamp=node_modules

if [ ! -d node_modules ]; then
  reason="node_modules missing"
elif [ "$manifest" -nt "$stamp" ]; then
  reason="$manifest is newer than $stamp"
else
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (Node.js >= 20 is required)"

log "$reason: running ${cmd[*]}"
start=$SECONDS
"${cmd[@]}" --no-audit --no-fund
# Make sure the next run sees node_modules as fresh (npm install without a
# lockfile writes package-lock.json too, possibly after the hidden one).
touch node_modules
if [ -f node_modules/.package-lock.json ]; then
  touch node_modules/.package-lock.json
fi
log "done in $((SECONDS - start))s"
