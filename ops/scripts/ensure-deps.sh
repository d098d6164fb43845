#!/usr/bin/env bash
# ensure-deps.sh — install the npm dependencies, only when needed.
#
# Runs `npm ci` (or `npm install` when there is no package-lock.json) when
# node_modules is missing or older than the lockfile (package.json without a
# lockfile). Prints nothing when there is nothing to do.
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

if [ ! -d node_modules ]; then
  reason="node_modules missing"
elif [ "$manifest" -nt node_modules ]; then
  reason="$manifest is newer than node_modules"
else
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found (Node.js >= 20 is required)"

log "$reason: running ${cmd[*]}"
start=$SECONDS
"${cmd[@]}" --no-audit --no-fund
# npm does not always touch the node_modules directory itself (e.g. when only
# versions change): mark it fresh so the next run is a no-op.
touch node_modules
log "done in $((SECONDS - start))s"
