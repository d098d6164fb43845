#!/usr/bin/env bash
# ensure-docker.sh — make sure a Docker engine answers `docker info`.
#
# Idempotent and quiet when the engine is already up. Otherwise:
#   1. installs Debian's docker.io when dockerd is missing (apt-get),
#   2. starts dockerd (systemd when it is PID 1 and works, else nohup/setsid),
#   3. waits up to POOLDECK_DOCKER_WAIT seconds (default 30) for `docker info`.
# The nohup fallback logs to /var/log/pooldeck-dockerd.log.
set -euo pipefail

WAIT_SECS="${POOLDECK_DOCKER_WAIT:-30}"
DOCKERD_LOG="${POOLDECK_DOCKERD_LOG:-/var/log/pooldeck-dockerd.log}"

log() { printf '[docker] %s\n' "$*"; }
die() {
  printf '[docker] ERROR: %s\n' "$*" >&2
  exit 1
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  fi
fi
as_root() {
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "need root (or sudo) to run: $*"
  fi
  "${SUDO[@]}" "$@"
}

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# --- container stats (added for the logs/stats streams) ----------------------
# containerd loads a container's cgroups from every v1 hierarchy the kernel
# lists for it; when one of those hierarchies is not mounted in our mount
# namespace (seen on Firecracker VMs: perf_event, hugetlb, net_cls,net_prio),
# it fails and `docker stats` reports nothing but zeros. Mount each controller
# set that has a directory under /sys/fs/cgroup but no mount. Safe to repeat.
mount_cgroup_controllers() {
  [ -r /proc/cgroups ] && [ -r /proc/self/mountinfo ] || return 0
  # cgroup v1 only: v2-only hosts have one unified mount and nothing to do.
  grep -q ' - cgroup cgroup ' /proc/self/mountinfo || return 0
  local dir set first
  for dir in /sys/fs/cgroup/*; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    set=${dir##*/}
    case $set in unified | systemd | name=*) continue ;; esac
    first=${set%%,*}
    # A kernel controller, enabled?
    awk -v c="$first" '$1 == c && $4 == 1 { found = 1 } END { exit !found }' /proc/cgroups || continue
    # Already mounted (here or at another path)?
    if awk -v c="$first" '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup") { n = split($(i+3), o, ","); for (j = 1; j <= n; j++) if (o[j] == c) found = 1 } break } } END { exit !found }' /proc/self/mountinfo; then
      continue
    fi
    log "mounting the $set cgroup controller (docker stats needs it)"
    as_root mount -t cgroup -o "$set" cgroup "$dir" ||
      log "could not mount $set; container stats may read as zero"
  done
}
mount_cgroup_controllers

# Fast path: nothing to do.
if docker_ok; then
  exit 0
fi

# --- 1. install ------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "dockerd/docker not found: installing Debian package docker.io"
  # Wait for a concurrent apt/dpkg run instead of failing on its lock.
  apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  if ! as_root "${apt_get[@]}" install -y docker.io; then
    log "apt-get install failed; running apt-get update and retrying"
    as_root "${apt_get[@]}" update
    as_root "${apt_get[@]}" install -y docker.io ||
      die "could not install docker.io with apt-get"
  fi
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still not on PATH"
  # The package's postinst may have started it already (systemd machines).
  if docker_ok; then
    log "engine ready (started by the package)"
    exit 0
  fi
fi

# --- 2. start --------------------------------------------------------------
dockerd_running() { pgrep -x dockerd >/dev/null 2>&1; }

systemd_usable() {
  [ -d /run/systemd/system ] &&
    [ "$(ps -p 1 -o comm= 2>/dev/null || true)" = systemd ] &&
    command -v systemctl >/dev/null 2>&1
}

start_nohup() {
  # A dockerd killed hard leaves its pid file behind and refuses to start.
  local pidfile=/var/run/docker.pid
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null; then
    log "removing stale $pidfile"
    as_root rm -f "$pidfile"
  fi
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  # setsid: own session, so killing the caller's process group leaves it up.
  local launcher=""
  if command -v setsid >/dev/null 2>&1; then
    launcher="setsid"
  fi
  as_root sh -c "$launcher nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null &"
}

if dockerd_running; then
  log "dockerd process exists but does not answer yet; waiting for it"
elif systemd_usable; then
  log "starting docker via systemd"
  if ! as_root systemctl start docker; then
    log "systemctl start docker failed; falling back to running dockerd directly"
    start_nohup
  fi
else
  start_nohup
fi

# --- 3. wait ---------------------------------------------------------------
start=$SECONDS
while :; do
  if docker_ok; then
    log "engine ready after $((SECONDS - start))s ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  elapsed=$((SECONDS - start))
  if [ "$elapsed" -ge "$WAIT_SECS" ]; then
    break
  fi
  if [ "$elapsed" -gt 0 ] && [ $((elapsed % 5)) -eq 0 ]; then
    log "waiting for dockerd... ${elapsed}s"
  fi
  sleep 1
done

# Daemon up but socket not ours: say so instead of a vague timeout.
if [ "$(id -u)" -ne 0 ] && [ -S /var/run/docker.sock ] && [ ${#SUDO[@]} -gt 0 ] &&
  "${SUDO[@]}" docker info >/dev/null 2>&1; then
  die "dockerd is running but $(id -un) cannot use /var/run/docker.sock; add the user to the 'docker' group (sudo usermod -aG docker $(id -un)) and log in again"
fi
printf '[docker] ERROR: dockerd did not answer within %ss\n' "$WAIT_SECS" >&2
if [ -r "$DOCKERD_LOG" ]; then
  printf '[docker] last lines of %s:\n' "$DOCKERD_LOG" >&2
  tail -n 25 "$DOCKERD_LOG" >&2 || true
elif systemd_usable; then
  as_root journalctl -u docker --no-pager -n 25 >&2 || true
fi
exit 1
