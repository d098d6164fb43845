#!/usr/bin/env bash
# ensure-test-tools.sh — what the end-to-end tests need besides npm packages:
# Debian's chromium, openssh-client, sshpass, zsh (completion test), and for the ops tests ansible,
# ansible-lint, rsync and vagrant (installed with apt when
# missing), and a running Docker engine (ensure-docker.sh). Idempotent; quiet
# when everything is already there.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PACKAGES=(chromium openssh-client sshpass zsh ansible ansible-lint rsync vagrant)

log() { printf '[test-tools] %s\n' "$*"; }
die() {
  printf '[test-tools] ERROR: %s\n' "$*" >&2
  exit 1
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot install packages"
  SUDO=(sudo)
fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing ${missing[*]}"
  start=$SECONDS
  # Wait for a concurrent apt/dpkg run instead of failing on its lock.
  apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
  if ! "${SUDO[@]}" "${apt_get[@]}" install -y "${missing[@]}"; then
    log "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" "${apt_get[@]}" update
    "${SUDO[@]}" "${apt_get[@]}" install -y "${missing[@]}" ||
      die "could not install ${missing[*]}"
  fi
  log "installed ${missing[*]} in $((SECONDS - start))s"
fi

"$SCRIPT_DIR/ensure-docker.sh"
