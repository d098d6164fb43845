#!/usr/bin/env bash
# build-images.sh — make sure the pool images exist:
#   pooldeck/nginx:latest pooldeck/apache:latest pooldeck/python:latest
#   pooldeck/node:latest  pooldeck/ssh:latest
#
# Usage: build-images.sh [--force] [--only TYPE] [--rebuild-base] [--base-only]
#   (no flag)       build only the images that are missing, or whose
#                   ops/images/<type>/ files changed since they were built
#                   (label pooldeck.src); a fast no-op otherwise
#   --force         rebuild the selected images even if present
#   --only TYPE     just one of: nginx apache python node ssh
#   --rebuild-base  also rebuild pooldeck/base:bookworm (implies --force)
#   --base-only     just make sure pooldeck/base:bookworm exists (with --rebuild-base:
#                   rebuild it), whatever the image source; no pool image is built
#                   (the Swarm lab's node image is FROM it)
#
# Image source, env POOLDECK_IMAGE_SOURCE=public|debian|auto (default auto):
#   public  thin Dockerfile.public FROM Docker Hub images (nginx:alpine, ...)
#   debian  air-gapped: a Debian bookworm base made with mmdebstrap and
#           imported as pooldeck/base:bookworm, then Dockerfile.debian per
#           type (apt from the Debian mirror)
#   auto    public when `docker pull nginx:alpine` works within 20 s, else debian
# POOLDECK_DEBIAN_MIRROR (optional) is passed to mmdebstrap as its mirror.
#
# Builds run in parallel; per-build logs go to a temp dir that is removed on
# success and kept (and its tail printed) on failure.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
IMAGES_DIR="$ROOT/ops/images"
ALL_TYPES=(nginx apache python node ssh)
BASE_IMAGE=pooldeck/base:bookworm
SOURCE="${POOLDECK_IMAGE_SOURCE:-auto}"
T0=$SECONDS

log() { printf '[images] %s\n' "$*"; }
die() {
  printf '[images] ERROR: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

force=0
rebuild_base=0
base_only=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --rebuild-base) rebuild_base=1 force=1 ;;
    --base-only) base_only=1 ;;
    --only)
      [ $# -ge 2 ] || die "--only needs a type (${ALL_TYPES[*]})"
      only=$2
      shift
      ;;
    --only=*) only=${1#--only=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
  shift
done

case "$SOURCE" in
  public | debian | auto) ;;
  *) die "POOLDECK_IMAGE_SOURCE must be public, debian or auto (got '$SOURCE')" ;;
esac

if [ -n "$only" ]; then
  case " ${ALL_TYPES[*]} " in
    *" $only "*) types=("$only") ;;
    *) die "unknown image type '$only' (one of: ${ALL_TYPES[*]})" ;;
  esac
else
  types=("${ALL_TYPES[@]}")
fi

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
fi

"$SCRIPT_DIR/ensure-docker.sh"

# Content hash of ops/images/<type>/ (both variants): an image whose label
# differs was built from other files and is rebuilt.
src_hash() {
  (cd "$IMAGES_DIR/$1" && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Fills to_build[] and reason[] from the current state of the engine.
declare -A reason=()
plan() {
  to_build=()
  reason=()
  local t label
  for t in "${types[@]}"; do
    if [ "$force" -eq 1 ]; then
      reason[$t]="forced"
    elif ! label=$(docker image inspect -f '{{index .Config.Labels "pooldeck.src"}}' "pooldeck/$t:latest" 2>/dev/null); then
      reason[$t]="missing"
    elif [ "$label" != "$(src_hash "$t")" ]; then
      reason[$t]="out of date"
    else
      continue
    fi
    to_build+=("$t")
  done
}

if [ "$base_only" -eq 1 ]; then
  SOURCE=debian
  if [ "$rebuild_base" -eq 0 ] && image_exists "$BASE_IMAGE"; then
    log "base: $BASE_IMAGE present"
    exit 0
  fi
  types=()
fi

plan
if [ ${#to_build[@]} -eq 0 ] && [ "$base_only" -eq 0 ]; then
  log "up to date: $(printf 'pooldeck/%s ' "${types[@]}")"
  exit 0
fi

# One build at a time per machine (make targets may run concurrently);
# whatever a concurrent run built meanwhile is not built again.
LOCK="${TMPDIR:-/tmp}/pooldeck-build-images.$(id -u).lock"
exec 9>>"$LOCK"
if ! flock -n 9; then
  log "another build-images.sh is running; waiting for it (lock $LOCK)"
  flock 9
  plan
  if [ ${#to_build[@]} -eq 0 ] && [ "$base_only" -eq 0 ]; then
    log "up to date: $(printf 'pooldeck/%s ' "${types[@]}")"
    exit 0
  fi
fi

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/pooldeck-images.XXXXXX")

# --- source ------------------------------------------------------------------
variant=$SOURCE
if [ "$variant" = auto ]; then
  if timeout 20 docker pull -q nginx:alpine >"$LOGDIR/pull.log" 2>&1; then
    variant=public
    log "source: public (nginx:alpine pulled)"
  else
    variant=debian
    log "source: debian (public images unreachable: $(tail -n 1 "$LOGDIR/pull.log" | cut -c1-100))"
  fi
else
  log "source: $variant (POOLDECK_IMAGE_SOURCE)"
fi

fail_with_log() { # title logfile...
  local title=$1
  shift
  printf '[images] ERROR: %s\n' "$title" >&2
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf '[images] --- last lines of %s:\n' "$f" >&2
    tail -n 30 "$f" >&2
  done
}

apt_install() {
  local apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  if ! "${SUDO[@]}" "${apt_get[@]}" install -y "$@"; then
    log "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" "${apt_get[@]}" update
    "${SUDO[@]}" "${apt_get[@]}" install -y "$@"
  fi
}

# --- debian base ---------------------------------------------------------------
if [ "$variant" = debian ]; then
  if [ "$rebuild_base" -eq 0 ] && image_exists "$BASE_IMAGE"; then
    log "base: $BASE_IMAGE present"
  else
    if ! command -v mmdebstrap >/dev/null 2>&1; then
      log "base: installing mmdebstrap"
      apt_install mmdebstrap >"$LOGDIR/apt.log" 2>&1 || {
        fail_with_log "could not install mmdebstrap (logs kept in $LOGDIR)" "$LOGDIR/apt.log"
        exit 1
      }
    fi
    if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
      die "mmdebstrap --mode=root needs root or sudo"
    fi
    log "base: building $BASE_IMAGE with mmdebstrap (Debian bookworm minbase)"
    t_base=$SECONDS
    mirror=()
    if [ -n "${POOLDECK_DEBIAN_MIRROR:-}" ]; then
      mirror=("$POOLDECK_DEBIAN_MIRROR")
    fi
    # merged-usr hook: usr-is-merged instead of usrmerge (which drags in perl).
    # dpkg excludes stay in the image, so packages installed later are slim too.
    if ! "${SUDO[@]}" mmdebstrap --variant=minbase --mode=root --format=tar \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='force-unsafe-io' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      bookworm - "${mirror[@]}" 2>"$LOGDIR/base.log" |
      docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'LABEL pooldeck.base=bookworm' \
        --change 'CMD ["/bin/bash"]' \
        - "$BASE_IMAGE" >"$LOGDIR/base-import.log" 2>&1; then
      fail_with_log "base image build failed after $((SECONDS - t_base))s (logs kept in $LOGDIR)" \
        "$LOGDIR/base.log" "$LOGDIR/base-import.log"
      exit 1
    fi
    log "base: $((SECONDS - t_base))s"
  fi
fi

if [ "$base_only" -eq 1 ]; then
  rm -rf "$LOGDIR"
  log "done: $BASE_IMAGE in $((SECONDS - T0))s"
  exit 0
fi

# --- pool images, in parallel ------------------------------------------------------
total=${#to_build[@]}
for t in "${to_build[@]}"; do
  [ -f "$IMAGES_DIR/$t/Dockerfile.$variant" ] || die "missing $IMAGES_DIR/$t/Dockerfile.$variant"
done
log "building $total image(s) in parallel ($variant): $(for t in "${to_build[@]}"; do printf '%s [%s] ' "$t" "${reason[$t]}"; done)"
log "logs: $LOGDIR"

declare -A pid_of=()
t_build=$SECONDS
for t in "${to_build[@]}"; do
  docker build \
    --label "pooldeck.src=$(src_hash "$t")" \
    -f "$IMAGES_DIR/$t/Dockerfile.$variant" \
    -t "pooldeck/$t:latest" \
    "$IMAGES_DIR/$t" >"$LOGDIR/$t.log" 2>&1 &
  pid_of[$t]=$!
done

finished=0
failed=()
last_note=$SECONDS
while [ ${#pid_of[@]} -gt 0 ]; do
  for t in "${!pid_of[@]}"; do
    pid=${pid_of[$t]}
    if kill -0 "$pid" 2>/dev/null; then
      continue
    fi
    rc=0
    wait "$pid" || rc=$?
    unset "pid_of[$t]"
    finished=$((finished + 1))
    if [ "$rc" -eq 0 ]; then
      log "$t $finished/$total built ($((SECONDS - t_build))s)"
    else
      fail_with_log "$t $finished/$total FAILED (exit $rc, $((SECONDS - t_build))s)" "$LOGDIR/$t.log"
      failed+=("$t")
    fi
  done
  if [ ${#pid_of[@]} -gt 0 ]; then
    if [ $((SECONDS - last_note)) -ge 30 ]; then
      log "still building: ${!pid_of[*]} ($((SECONDS - t_build))s)"
      last_note=$SECONDS
    fi
    sleep 1
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  die "failed: ${failed[*]} (logs kept in $LOGDIR)"
fi

# Old builds of our images and base left dangling by a rebuild (never ones in use).
docker image prune -f --filter label=pooldeck.image >/dev/null 2>&1 || true
docker image prune -f --filter label=pooldeck.base >/dev/null 2>&1 || true
rm -rf "$LOGDIR"

for t in "${to_build[@]}"; do
  log "pooldeck/$t:latest $(docker image inspect -f '{{.Size}}' "pooldeck/$t:latest" |
    awk '{printf "%.1f MB", $1 / 1000000}')"
done
log "done: $total image(s) in $((SECONDS - T0))s"
