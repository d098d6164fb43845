#!/usr/bin/env bash
# load-images.sh — copy the pool images from the local engine into other Docker
# engines without a registry (air-gapped clusters, the Swarm lab):
#   docker save <images> | docker -H <host> load
#
# Usage: load-images.sh [--images "IMG..."] [--swarm MANAGER] [HOST...]
#   HOST            a node's engine as the docker CLI takes it (-H): tcp://10.0.0.5:2375,
#                   ssh://admin@node2, unix:///var/run/docker.sock. TLS: DOCKER_TLS_VERIFY /
#                   DOCKER_CERT_PATH in the environment apply to every host, as for `docker`.
#   --swarm MANAGER also every node of the Swarm managed at MANAGER, each reached through its
#                   `pooldeck.engine` node label (nodes without the label are reported, skipped)
#   --images "..."  the images to copy (default: pooldeck/{nginx,apache,python,node,ssh}:latest,
#                   or POOLDECK_IMAGE_<TYPE> where set)
#
# Only images whose id differs on a node (missing or older) are sent; a node that has them all
# costs one `docker image inspect`. Nodes are loaded in parallel; a progress line every 10 s.
set -euo pipefail

log() { printf '[load-images] %s\n' "$*"; }
die() {
  printf '[load-images] ERROR: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

default_images() {
  local t var
  for t in nginx apache python node ssh; do
    var="POOLDECK_IMAGE_${t^^}"
    printf '%s\n' "${!var:-pooldeck/$t:latest}"
  done
}

images_arg=""
manager=""
hosts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --images)
      [ $# -ge 2 ] || die "--images needs a list"
      images_arg=$2
      shift
      ;;
    --swarm)
      [ $# -ge 2 ] || die "--swarm needs the manager's endpoint"
      manager=$2
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      usage >&2
      die "unknown option: $1"
      ;;
    *) hosts+=("$1") ;;
  esac
  shift
done

if [ -n "$images_arg" ]; then
  read -r -a images <<<"$images_arg"
else
  mapfile -t images < <(default_images)
fi
[ ${#images[@]} -gt 0 ] || die "no images to load"
# As `docker images` names them: a name without a tag means :latest.
for k in "${!images[@]}"; do
  case "${images[$k]##*/}" in *:* | *@*) ;; *) images[$k]="${images[$k]}:latest" ;; esac
done

if [ -n "$manager" ]; then
  while read -r hostname engine; do
    if [ -z "$engine" ] || [ "$engine" = "<no value>" ]; then
      log "skipping Swarm node $hostname: no pooldeck.engine label"
      continue
    fi
    hosts+=("$engine")
  done < <(docker -H "$manager" node ls -q |
    xargs -r docker -H "$manager" node inspect \
      --format '{{.Description.Hostname}} {{index .Spec.Labels "pooldeck.engine"}}')
fi
[ ${#hosts[@]} -gt 0 ] || die "no engine to load into (give HOSTs or --swarm MANAGER)"

declare -A local_id=()
total_bytes=0
for image in "${images[@]}"; do
  local_id[$image]=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) ||
    die "$image is not on the local engine (make images-if-missing)"
  total_bytes=$((total_bytes + $(docker image inspect -f '{{.Size}}' "$image")))
done

mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB", b / 1000000 }'; }

# Images of one host whose id differs from ours (one listing call per host).
missing_on() {
  local host=$1 image
  declare -A have=()
  while read -r image id; do have[$image]=$id; done < <(docker -H "$host" images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}')
  for image in "${images[@]}"; do
    [ "${have[$image]:-}" = "${local_id[$image]}" ] || printf '%s\n' "$image"
  done
}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/pooldeck-load-images.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT
T0=$SECONDS
declare -A pid_of=()
declare -A host_of=()
n=0
for host in "${hosts[@]}"; do
  docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>"$LOGDIR/probe.log" ||
    die "$host does not answer: $(tail -n 1 "$LOGDIR/probe.log")"
  mapfile -t todo < <(missing_on "$host")
  if [ ${#todo[@]} -eq 0 ]; then
    log "$host: up to date (${#images[@]} images)"
    continue
  fi
  bytes=0
  for image in "${todo[@]}"; do
    bytes=$((bytes + $(docker image inspect -f '{{.Size}}' "$image")))
  done
  log "$host: loading ${#todo[@]} image(s) ($(mb "$bytes") summed; shared layers go once): ${todo[*]}"
  n=$((n + 1))
  # dd counts the bytes sent (its progress line is read by the loop below).
  (docker save "${todo[@]}" | dd bs=1M status=progress 2>"$LOGDIR/$n.progress" |
    docker -H "$host" load -q) >"$LOGDIR/$n.log" 2>&1 &
  pid_of[$n]=$!
  host_of[$n]=$host
done

# Bytes sent so far to load number $1, from dd's last progress line.
sent() {
  local bytes
  bytes=$(tr '\r' '\n' <"$LOGDIR/$1.progress" 2>/dev/null | awk '$2 == "bytes" { b = $1 } END { print b + 0 }')
  mb "$bytes"
}

failed=()
last_note=$SECONDS
while [ ${#pid_of[@]} -gt 0 ]; do
  for k in "${!pid_of[@]}"; do
    if kill -0 "${pid_of[$k]}" 2>/dev/null; then continue; fi
    rc=0
    wait "${pid_of[$k]}" || rc=$?
    unset "pid_of[$k]"
    if [ "$rc" -eq 0 ]; then
      log "${host_of[$k]}: loaded ($((SECONDS - T0))s)"
    else
      printf '[load-images] ERROR: %s: load failed (exit %s):\n' "${host_of[$k]}" "$rc" >&2
      tail -n 20 "$LOGDIR/$k.log" >&2
      failed+=("${host_of[$k]}")
    fi
  done
  if [ ${#pid_of[@]} -gt 0 ]; then
    if [ $((SECONDS - last_note)) -ge 10 ]; then
      for k in "${!pid_of[@]}"; do
        log "${host_of[$k]}: $(sent "$k") sent ($((SECONDS - T0))s)"
      done
      last_note=$SECONDS
    fi
    sleep 0.5
  fi
done
[ ${#failed[@]} -eq 0 ] || die "failed: ${failed[*]}"

# Verify: every node we loaded into now has our ids.
for host in "${host_of[@]}"; do
  mapfile -t still < <(missing_on "$host")
  [ ${#still[@]} -eq 0 ] || die "$host still lacks: ${still[*]}"
done
log "done: ${#hosts[@]} engine(s) hold the ${#images[@]} image(s); took $((SECONDS - T0))s"
