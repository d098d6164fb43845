#!/usr/bin/env bash
# swarm-lab.sh — a Docker Swarm of docker-in-docker nodes on this machine, for tests and
# for trying Pooldeck on a cluster. See docs/swarm.md ("Lab").
#
# Usage: swarm-lab.sh COMMAND
#   up [N]       make the lab whole with N nodes (at most 9; default 2, or the nodes that exist
#                when more): builds the node image
#                if missing, starts swarmlab-node1..N, loads the pool images, initialises the
#                Swarm (node1 manager) and joins the rest, sets the node labels. Idempotent:
#                re-running fixes what is missing (stopped node, missing image, lost label).
#   env          print `export VAR=value` lines that point a Pooldeck at the lab
#                (eval "$(ops/scripts/swarm-lab.sh env)")
#   status       the nodes, their engines, ports, Swarm state and labels
#   stop [I]     stop every node (or node I), keeping containers and volumes; `up` restarts them
#   start I      start node I again (it rejoins the Swarm by itself)
#   down         remove the nodes, their volumes and the lab network
#   is-up        exit 0 when every node of the lab runs and is Ready, else 1 (silent)
#
# Scheme (node I, 1..9): container swarmlab-nodeI, IP 10.213.213.(10+I) on network `swarmlab`,
# engine API tcp://127.0.0.1:2375I, slot ports 9I00-9I99 on 127.0.0.1: type block
# nginx +0, apache +20, python +40, node +60, ssh +80, each SWARMLAB_PORTS_PER_TYPE wide
# (default 10, at most 20): node1 nginx 9100-9109, apache 9120-9129, ..., ssh 9180-9189;
# 9I95-9I99 are spare ports in no type's range (for tests and experiments).
# Environment: SWARMLAB_PORTS_PER_TYPE, SWARMLAB_SUBNET (a /24, default 10.213.213.0/24),
# SWARMLAB_IMAGES (images to load, default the pool images).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
NODE_IMAGE=pooldeck/swarm-node:latest
NODE_IMAGE_DIR="$ROOT/ops/images/swarm-node"
NETWORK=swarmlab
SUBNET="${SWARMLAB_SUBNET:-10.213.213.0/24}"
WIDTH="${SWARMLAB_PORTS_PER_TYPE:-10}"
TYPES=(nginx apache python node ssh)
declare -A TYPE_OFFSET=([nginx]=0 [apache]=20 [python]=40 [node]=60 [ssh]=80)
LAB_LABEL=pooldeck.swarmlab
T0=$SECONDS

log() { printf '[swarm-lab] %s\n' "$*"; }
step() { printf '[swarm-lab] %5.1fs %s\n' "$(awk -v s=$((SECONDS - T0)) 'BEGIN{print s}')" "$*"; }
die() {
  printf '[swarm-lab] ERROR: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

case "$WIDTH" in '' | *[!0-9]*) die "SWARMLAB_PORTS_PER_TYPE must be 1-20 (got '$WIDTH')" ;; esac
[ "$WIDTH" -ge 1 ] && [ "$WIDTH" -le 20 ] || die "SWARMLAB_PORTS_PER_TYPE must be 1-20 (got $WIDTH)"
[[ "$SUBNET" =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/24$ ]] || die "SWARMLAB_SUBNET must be a /24 like 10.213.213.0/24 (got $SUBNET)"
PREFIX=${BASH_REMATCH[1]}

node_name() { printf 'swarmlab-node%s' "$1"; }
node_volume() { printf 'swarmlab-node%s-data' "$1"; }
node_ip() { printf '%s.%s' "$PREFIX" $((10 + $1)); }
node_api() { printf 'tcp://127.0.0.1:%s' $((23750 + $1)); }
port_start() { printf '%s' $((9000 + 100 * $1 + ${TYPE_OFFSET[$2]})); }
SPARE_OFFSET=95
SPARE_WIDTH=5
LAYOUT="w$WIDTH+spare$SPARE_OFFSET-$SPARE_WIDTH"
spare_range() { printf '%s-%s' $((9000 + 100 * $1 + SPARE_OFFSET)) $((9000 + 100 * $1 + SPARE_OFFSET + SPARE_WIDTH - 1)); }
port_range() { printf '%s-%s' "$(port_start "$1" "$2")" $(($(port_start "$1" "$2") + WIDTH - 1)); }
ndocker() { # node-index docker-args...
  local i=$1
  shift
  docker -H "$(node_api "$i")" "$@"
}

# Indices of the lab's node containers that exist (running or not), ascending.
existing_nodes() {
  docker ps -a --filter "label=$LAB_LABEL=node" --format '{{.Label "pooldeck.swarmlab.index"}}' | sort -n
}

lab_images() {
  if [ -n "${SWARMLAB_IMAGES:-}" ]; then
    local list
    read -r -a list <<<"$SWARMLAB_IMAGES"
    printf '%s\n' "${list[@]}"
    return
  fi
  local t var
  for t in "${TYPES[@]}"; do
    var="POOLDECK_IMAGE_${t^^}"
    printf '%s\n' "${!var:-pooldeck/$t:latest}"
  done
}

src_hash() {
  (cd "$NODE_IMAGE_DIR" && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# One `up`/`down` at a time on this machine (tests in parallel call `up`).
take_lock() {
  exec 8>>"${TMPDIR:-/tmp}/pooldeck-swarm-lab.lock"
  if ! flock -n 8; then
    log "another swarm-lab.sh is running; waiting for it"
    flock 8
  fi
}

# --- up ------------------------------------------------------------------------------
ensure_node_image() {
  local want have
  want=$(src_hash)
  have=$(docker image inspect -f '{{index .Config.Labels "pooldeck.src"}}' "$NODE_IMAGE" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    return
  fi
  if ! docker image inspect pooldeck/base:bookworm >/dev/null 2>&1; then
    step "base image pooldeck/base:bookworm missing: building it (ops/scripts/build-images.sh)"
    "$SCRIPT_DIR/build-images.sh" --base-only
  fi
  step "building $NODE_IMAGE (${have:+out of date, }about 45 s; apt from the Debian mirror)"
  local t=$SECONDS buildlog
  buildlog=$(mktemp "${TMPDIR:-/tmp}/swarm-node-build.XXXXXX")
  if ! docker build --label "pooldeck.src=$want" -t "$NODE_IMAGE" "$NODE_IMAGE_DIR" >"$buildlog" 2>&1; then
    tail -n 30 "$buildlog" >&2
    die "node image build failed (log $buildlog)"
  fi
  rm -f "$buildlog"
  docker image prune -f --filter label=pooldeck.image=swarm-node >/dev/null 2>&1 || true
  step "built $NODE_IMAGE in $((SECONDS - t))s"
}

ensure_network() {
  if docker network inspect "$NETWORK" >/dev/null 2>&1; then
    return
  fi
  step "creating network $NETWORK ($SUBNET)"
  docker network create --driver bridge --subnet "$SUBNET" --label "$LAB_LABEL=network" "$NETWORK" >/dev/null
}

# Starts node I: creates it when missing or made from another image or port width.
ensure_node() {
  local i=$1 name state image want_image layout
  name=$(node_name "$i")
  want_image=$(docker image inspect -f '{{.Id}}' "$NODE_IMAGE")
  if state=$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null); then
    image=$(docker inspect -f '{{.Image}}' "$name")
    layout=$(docker inspect -f '{{index .Config.Labels "pooldeck.swarmlab.layout"}}' "$name")
    if [ "$image" != "$want_image" ] || [ "$layout" != "$LAYOUT" ]; then
      step "$name: made from another node image or port width; recreating it (its volume stays)"
      docker rm -f "$name" >/dev/null
    elif [ "$state" = running ]; then
      return
    else
      step "$name: $state; starting it"
      docker start "$name" >/dev/null
      return
    fi
  fi
  local ports=() type
  for type in "${TYPES[@]}"; do
    ports+=(-p "127.0.0.1:$(port_range "$i" "$type"):$(port_range "$i" "$type")")
  done
  ports+=(-p "127.0.0.1:$(spare_range "$i"):$(spare_range "$i")")
  step "$name: starting (engine $(node_api "$i"), ports $(port_start "$i" nginx)-$((9000 + 100 * i + 99)))"
  docker volume create --label "$LAB_LABEL=volume" "$(node_volume "$i")" >/dev/null
  # Not --privileged (fails here: no CAP_SYS_RESOURCE in the host's bounding set); see docs/swarm.md.
  docker run -d --name "$name" --hostname "$name" \
    --label "$LAB_LABEL=node" --label "pooldeck.swarmlab.index=$i" --label "pooldeck.swarmlab.layout=$LAYOUT" --label "pooldeck.swarmlab.spare=$(spare_range "$i")" \
    --network "$NETWORK" --ip "$(node_ip "$i")" \
    --init \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined \
    --cgroupns private --device-cgroup-rule 'a *:* rwm' \
    -v "$(node_volume "$i"):/var/lib/docker" \
    -p "127.0.0.1:$((23750 + i)):2375" \
    "${ports[@]}" \
    "$NODE_IMAGE" >/dev/null
}

wait_engine() { # node-index
  local i=$1 deadline=$((SECONDS + 60))
  until ndocker "$i" version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      docker logs --tail 20 "$(node_name "$i")" >&2 || true
      die "$(node_name "$i"): engine did not answer at $(node_api "$i") within 60 s"
    fi
    sleep 0.2
  done
}

node_state() { ndocker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }
# The node's Swarm state once it stops being `pending` (a restarted node reconnecting, up to
# ~30 s): acting on `pending` would make a node that is rejoining by itself leave the Swarm.
settled_state() {
  local i=$1 state deadline=$((SECONDS + 30))
  while :; do
    state=$(node_state "$i")
    if [ "$state" != pending ] && [ "$state" != unknown ] || [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s' "$state"
      return
    fi
    sleep 0.3
  done
}
node_id() { ndocker "$1" info --format '{{.Swarm.NodeID}}'; }

ensure_swarm() { # N
  local n=$1 i token state
  state=$(settled_state 1)
  if [ "$state" != active ] || [ "$(ndocker 1 info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
    [ "$state" = inactive ] || ndocker 1 swarm leave --force >/dev/null 2>&1 || true
    step "initialising the Swarm on $(node_name 1) (advertise $(node_ip 1); it was $state)"
    ndocker 1 swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" >/dev/null
  fi
  token=$(ndocker 1 swarm join-token -q worker)
  for ((i = 2; i <= n; i++)); do
    # In the Swarm when the manager knows this engine's node id.
    state=$(settled_state "$i")
    if [ "$state" = active ] && ndocker 1 node inspect "$(node_id "$i")" >/dev/null 2>&1; then
      continue
    fi
    [ "$state" = inactive ] || ndocker "$i" swarm leave --force >/dev/null 2>&1 || true
    step "$(node_name "$i"): joining the Swarm (it was $state)"
    ndocker "$i" swarm join --token "$token" --advertise-addr "$(node_ip "$i")" \
      --listen-addr "$(node_ip "$i"):2377" "$(node_ip 1):2377" >/dev/null
  done
}

# Removes manager entries named swarmlab-node* that are not one of the lab's current engines
# (left behind when a node was recreated with a fresh volume, or removed by hand).
prune_stale_nodes() {
  local current=() i id hostname
  for ((i = 1; i <= $1; i++)); do
    current+=("$(node_id "$i")")
  done
  while read -r id hostname; do
    [[ "$hostname" == swarmlab-node* ]] || continue
    case " ${current[*]} " in *" $id "*) continue ;; esac
    step "removing stale Swarm node entry $id ($hostname)"
    ndocker 1 node rm --force "$id" >/dev/null || true
  done < <(ndocker 1 node ls --format '{{.ID}} {{.Hostname}}')
}

ensure_labels() { # N
  local i id args type types
  types=$(
    IFS=,
    echo "${TYPES[*]}"
  )
  for ((i = 1; i <= $1; i++)); do
    id=$(node_id "$i")
    args=(--label-add "pooldeck.public-host=127.0.0.1"
      --label-add "pooldeck.engine=$(node_api "$i")"
      --label-add "pooldeck.types=$types")
    for type in "${TYPES[@]}"; do
      args+=(--label-add "pooldeck.ports.$type=$(port_range "$i" "$type")")
    done
    ndocker 1 node update "${args[@]}" "$id" >/dev/null
  done
}

wait_ready() { # N
  local n=$1 deadline=$((SECONDS + 60)) ready
  while :; do
    ready=$(ndocker 1 node ls --format '{{.Hostname}} {{.Status}}' | awk '$2 == "Ready" && $1 ~ /^swarmlab-node/' | wc -l)
    [ "$ready" -ge "$n" ] && return
    [ "$SECONDS" -lt "$deadline" ] || die "only $ready of $n nodes Ready after 60 s: $(ndocker 1 node ls --format '{{.Hostname}}={{.Status}}' | tr '\n' ' ')"
    sleep 0.3
  done
}

cmd_up() {
  local n=${1:-} i
  if [ -z "$n" ]; then
    n=$(existing_nodes | tail -n 1)
    [ -n "$n" ] && [ "$n" -ge 2 ] || n=2
  fi
  case "$n" in '' | *[!0-9]*) die "up takes a node count 1-9 (got '$n')" ;; esac
  [ "$n" -ge 1 ] && [ "$n" -le 9 ] || die "up takes a node count 1-9 (got $n)"
  take_lock
  "$SCRIPT_DIR/ensure-docker.sh"
  # Pool images: built when missing; never rebuilt here (that is `make images`), so a lab
  # started from one checkout does not replace images another checkout just built.
  local image missing=()
  while read -r image; do
    docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done < <(lab_images)
  if [ ${#missing[@]} -gt 0 ]; then
    step "pool images missing (${missing[*]}): ops/scripts/build-images.sh"
    "$SCRIPT_DIR/build-images.sh" | sed 's/^/  /'
  fi
  ensure_node_image
  ensure_network
  # Nodes beyond N from a bigger lab: leave the Swarm, remove them.
  for i in $(existing_nodes); do
    if [ "$i" -gt "$n" ]; then
      step "$(node_name "$i"): not part of a $n-node lab; removing it"
      ndocker 1 node rm --force "$(node_name "$i")" >/dev/null 2>&1 || true
      docker rm -f "$(node_name "$i")" >/dev/null
      docker volume rm "$(node_volume "$i")" >/dev/null 2>&1 || true
    fi
  done
  # In parallel: creating or starting a node is mostly the host setting up its 56 port proxies.
  local pids=() pid
  for ((i = 1; i <= n; i++)); do
    ensure_node "$i" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "a node did not start (see above)"; done
  for ((i = 1; i <= n; i++)); do wait_engine "$i"; done
  step "engines answer"
  local hosts=()
  for ((i = 1; i <= n; i++)); do hosts+=("$(node_api "$i")"); done
  "$SCRIPT_DIR/load-images.sh" --images "$(lab_images | tr '\n' ' ')" "${hosts[@]}" | sed 's/^/  /'
  # Older builds replaced by the load (dangling, no container uses them) only take space.
  for ((i = 1; i <= n; i++)); do ndocker "$i" image prune -f >/dev/null 2>&1 || true; done
  step "pool images present on every node"
  ensure_swarm "$n"
  prune_stale_nodes "$n"
  ensure_labels "$n"
  wait_ready "$n"
  step "lab up: $n node(s) Ready, manager $(node_api 1)"
  log "use it: eval \"\$($0 env)\"   (status: $0 status, remove: $0 down)"
}

# --- other commands ---------------------------------------------------------------------
cmd_env() {
  local nodes
  nodes=$(existing_nodes | wc -l)
  [ "$nodes" -gt 0 ] || die "no lab here: run '$0 up' first"
  ndocker 1 info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null | grep -qx true ||
    die "$(node_name 1) is not a running Swarm manager: run '$0 up'"
  cat <<EOF
export POOLDECK_ENGINE=swarm
export POOLDECK_DOCKER_HOST=$(node_api 1)
export POOLDECK_BIND=127.0.0.1
export POOLDECK_PUBLIC_HOST=127.0.0.1
export POOLDECK_HOST=127.0.0.1
EOF
}

cmd_status() {
  local i name
  mapfile -t idx < <(existing_nodes)
  if [ ${#idx[@]} -eq 0 ]; then
    log "no lab (run: $0 up)"
    return 1
  fi
  for i in "${idx[@]}"; do
    name=$(node_name "$i")
    printf '%s  container=%s  engine=%s  ip=%s  ports:' "$name" \
      "$(docker inspect -f '{{.State.Status}}' "$name")" "$(node_api "$i")" "$(node_ip "$i")"
    for type in "${TYPES[@]}"; do printf ' %s=%s' "$type" "$(port_range "$i" "$type")"; done
    printf ' spare=%s' "$(spare_range "$i")"
    printf '\n'
  done
  if ndocker 1 info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null | grep -qx true; then
    printf '\nSwarm (manager %s):\n' "$(node_api 1)"
    ndocker 1 node ls
    printf '\nlabels:\n'
    ndocker 1 node ls -q | xargs -r docker -H "$(node_api 1)" node inspect \
      --format '{{.Description.Hostname}} {{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}'
    printf '\nservices:\n'
    ndocker 1 service ls
  else
    printf '\nmanager %s does not answer as a Swarm manager\n' "$(node_api 1)"
  fi
}

cmd_is_up() {
  local n i
  mapfile -t idx < <(existing_nodes)
  n=${#idx[@]}
  [ "$n" -gt 0 ] || return 1
  for i in "${idx[@]}"; do
    [ "$(docker inspect -f '{{.State.Running}}' "$(node_name "$i")" 2>/dev/null)" = true ] || return 1
  done
  [ "$(ndocker 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" -ge "$n" ]
}

cmd_stop() {
  local i
  if [ -n "${1:-}" ]; then
    docker stop "$(node_name "$1")" >/dev/null
    step "$(node_name "$1") stopped"
    return
  fi
  for i in $(existing_nodes); do docker stop "$(node_name "$i")" >/dev/null & done
  wait
  step "nodes stopped (containers and volumes kept; '$0 up' starts them again)"
}

cmd_start() {
  [ -n "${1:-}" ] || die "start takes a node index"
  docker start "$(node_name "$1")" >/dev/null
  wait_engine "$1"
  step "$(node_name "$1") started"
}

cmd_down() {
  take_lock
  local ids
  ids=$(docker ps -aq --filter "label=$LAB_LABEL=node")
  if [ -n "$ids" ]; then
    step "removing nodes: $(docker ps -a --filter "label=$LAB_LABEL=node" --format '{{.Names}}' | sort | tr '\n' ' ')"
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null
  fi
  local vols
  vols=$(docker volume ls -q --filter "label=$LAB_LABEL=volume")
  # shellcheck disable=SC2086
  [ -z "$vols" ] || docker volume rm $vols >/dev/null
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
  step "lab removed"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) cmd_up "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  stop) cmd_stop "$@" ;;
  start) cmd_start "$@" ;;
  down) cmd_down ;;
  is-up) cmd_is_up ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
