#!/usr/bin/env bash
# smoke-images.sh [--only TYPE] — check the pool images against the runtime
# contract, under the same hardening the runtime uses:
#   --cap-drop ALL --security-opt no-new-privileges --pids-limit 128
#   --memory 256m, plus the minimal --cap-add list of each type (below).
# Web types: serve a read-only bind mount of /srv/www, serve a file added
# after start, log the request to `docker logs`. ssh: pooldeck-credentials,
# then password login (sshpass), key login, a pty, root refused.
# Needs: docker, curl, ssh, ssh-keygen, sshpass. Ports only on 127.0.0.1.
# Containers are named imgtest_<type>_<pid> and removed on exit.
set -euo pipefail

# The minimal --cap-add sets (also in ops/images/README.md).
declare -A CAPS=(
  [nginx]=""
  [apache]=""
  [python]=""
  [node]=""
  [ssh]="CHOWN SETUID SETGID SYS_CHROOT AUDIT_WRITE"
)
declare -A PORT=([nginx]=80 [apache]=80 [python]=8000 [node]=3000 [ssh]=22)
ALL_TYPES=(nginx apache python node ssh)

types=("${ALL_TYPES[@]}")
if [ "${1:-}" = --only ] && [ -n "${2:-}" ]; then
  types=("$2")
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pooldeck-smoke.XXXXXX")
containers=()
cleanup() {
  if [ ${#containers[@]} -gt 0 ]; then
    docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

passed=0
failed=0
ok() {
  printf '[smoke] ok    %s\n' "$*"
  passed=$((passed + 1))
}
bad() {
  printf '[smoke] FAIL  %s\n' "$*"
  failed=$((failed + 1))
}
check() { # description command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

run_container() { # type name [extra docker args...]
  local type=$1 name=$2
  shift 2
  local args=(--cap-drop ALL --security-opt no-new-privileges --pids-limit 128 --memory 256m)
  local c
  for c in ${CAPS[$type]}; do args+=(--cap-add "$c"); done
  containers+=("$name")
  docker run -d --name "$name" "${args[@]}" -p "127.0.0.1::${PORT[$type]}" "$@" \
    "pooldeck/$type:latest" >/dev/null
}

host_port() { docker port "$1" "$2/tcp" | head -n 1 | sed 's/.*://'; }

wait_http() { # url
  for _ in $(seq 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

body_has() { curl -fsS "$1" 2>/dev/null | grep -q "$2"; }

smoke_web() {
  local type=$1 name="imgtest_${1}_$$" www="$TMP/$1-www" port url marker
  mkdir -p "$www"
  chmod 0755 "$www"
  marker="index-$type-$RANDOM"
  printf '<p>%s</p>\n' "$marker" >"$www/index.html"
  run_container "$type" "$name" -v "$www:/srv/www:ro"
  port=$(host_port "$name" "${PORT[$type]}")
  url="http://127.0.0.1:$port"
  if ! wait_http "$url/"; then
    bad "$type: no HTTP answer on $url (caps: ${CAPS[$type]:-none})"
    docker logs --tail 20 "$name" 2>&1 | sed 's/^/    /'
    return
  fi
  ok "$type: up under cap-drop ALL + [${CAPS[$type]:-none}] on $url"
  check "$type: serves the bind-mounted index.html" body_has "$url/" "$marker"
  local late="late-$RANDOM.txt"
  echo "added after start" >"$www/$late"
  check "$type: serves $late added after start" body_has "$url/$late" "added after start"
  check "$type: 404 for a missing file" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$url/missing-$RANDOM.txt")" = 404
  sleep 0.3
  check "$type: docker logs shows GET /$late" sh -c "docker logs '$name' 2>&1 | grep -q 'GET /$late'"
  check "$type: runs as non-root" test "$(docker exec "$name" id -u)" != 0
  check "$type: default page in the image" \
    sh -c "docker run --rm --entrypoint cat 'pooldeck/$type:latest' /srv/www/index.html | grep -q 'Pooldeck $type container'"
}

smoke_ssh() {
  local name="imgtest_ssh_$$" port key="$TMP/id_ed25519" pw="Pw-$RANDOM-$RANDOM"
  run_container ssh "$name" -v "$TMP:/srv/www:ro"
  for _ in $(seq 100); do
    docker logs "$name" 2>&1 | grep -q 'Server listening' && break
    sleep 0.1
  done
  port=$(host_port "$name" 22)
  local o=(-p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o LogLevel=ERROR -o ConnectTimeout=5)
  ssh-keygen -q -t ed25519 -N '' -f "$key"
  check "ssh: only an ed25519 host key" \
    test "$(docker exec "$name" sh -c 'ls /etc/ssh/ | grep -c "^ssh_host_.*_key$"')" = 1
  check "ssh: user locked before credentials" \
    sh -c "docker exec '$name' getent shadow user | cut -d: -f2 | grep -q '^!'"
  check "ssh: pooldeck-credentials" \
    sh -c "printf '%s\n%s\n' '$pw' \"\$(cat '$key.pub')\" | docker exec -i '$name' pooldeck-credentials >/dev/null"
  check "ssh: password login (sshpass)" \
    test "$(sshpass -p "$pw" ssh "${o[@]}" -o PubkeyAuthentication=no user@127.0.0.1 echo ok 2>&1)" = ok
  check "ssh: key login" \
    test "$(ssh "${o[@]}" -o BatchMode=yes -o IdentitiesOnly=yes -i "$key" user@127.0.0.1 echo ok 2>&1)" = ok
  check "ssh: interactive pty" \
    sh -c "ssh ${o[*]} -tt -o BatchMode=yes -o IdentitiesOnly=yes -i '$key' user@127.0.0.1 tty 2>&1 | grep -q '^/dev/pts/'"
  check "ssh: root login refused" \
    sh -c "! sshpass -p '$pw' ssh ${o[*]} -o PubkeyAuthentication=no root@127.0.0.1 true 2>/dev/null"
}

for type in "${types[@]}"; do
  [ -n "${PORT[$type]:-}" ] || {
    echo "unknown type $type" >&2
    exit 2
  }
  if ! docker image inspect "pooldeck/$type:latest" >/dev/null 2>&1; then
    bad "$type: image pooldeck/$type:latest missing (run ops/scripts/build-images.sh)"
    continue
  fi
  check "$type: label pooldeck.image=$type" \
    test "$(docker image inspect -f '{{index .Config.Labels "pooldeck.image"}}' "pooldeck/$type:latest")" = "$type"
  if [ "$type" = ssh ]; then smoke_ssh; else smoke_web "$type"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
