#!/bin/sh
# host-firewall.sh [install|check|remove] — keep Pooldeck's pool containers away from the
# host's own services. Run as root.
#
# Docker lets a container reach every service the host listens on (0.0.0.0) through its
# network's gateway. Pooldeck names its pool bridges pd-<pool> (com.docker.network.bridge.name),
# so two rules in a chain of their own, hooked first into INPUT, drop everything that comes from
# a pool bridge to the host, except replies to connections the host opened (health probes and
# container URLs reach containers through docker-proxy, from the host):
#
#   -A POOLDECK-INPUT -i pd-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
#   -A POOLDECK-INPUT -i pd-+ -j DROP
#
# For IPv4 (iptables) and IPv6 (ip6tables, when present). Containers' outbound traffic
# (FORWARD) is not touched. The same rules are installed by Pooldeck itself when it runs as
# root (runtime/security/host-firewall.ts); the Ansible role runs this script at boot
# (pooldeck-firewall.service) because the Pooldeck service runs unprivileged.
#
#   install  add the chain and rules (idempotent; repairs a chain that differs)
#   check    exit 0 when the rules are in place, 1 otherwise
#   remove   unhook and delete the chain
set -eu
CHAIN=POOLDECK-INPUT
action=${1:-install}

rules() { # tool
  printf '%s\n' "-A $CHAIN -i pd-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" "-A $CHAIN -i pd-+ -j DROP"
}

in_place() { # tool
  "$1" -w 5 -C INPUT -j "$CHAIN" 2>/dev/null || return 1
  [ "$("$1" -w 5 -S "$CHAIN" 2>/dev/null | grep '^-A ')" = "$(rules "$1")" ]
}

install() { # tool
  in_place "$1" && return 0
  "$1" -w 5 -N "$CHAIN" 2>/dev/null || true
  "$1" -w 5 -C INPUT -j "$CHAIN" 2>/dev/null || "$1" -w 5 -I INPUT 1 -j "$CHAIN"
  "$1" -w 5 -F "$CHAIN"
  "$1" -w 5 -A "$CHAIN" -i pd-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
  "$1" -w 5 -A "$CHAIN" -i pd-+ -j DROP
  echo "host-firewall: $1: $CHAIN installed"
}

remove() { # tool
  while "$1" -w 5 -D INPUT -j "$CHAIN" 2>/dev/null; do :; done
  "$1" -w 5 -F "$CHAIN" 2>/dev/null || true
  "$1" -w 5 -X "$CHAIN" 2>/dev/null || true
}

command -v iptables >/dev/null 2>&1 || { echo "host-firewall: iptables is missing" >&2; exit 1; }
tools=iptables
if command -v ip6tables >/dev/null 2>&1; then tools="$tools ip6tables"; fi

case "$action" in
  install) for t in $tools; do install "$t"; done ;;
  check)
    for t in $tools; do
      in_place "$t" || { echo "host-firewall: $t: $CHAIN missing or different" >&2; exit 1; }
    done
    echo "host-firewall: in place ($tools)"
    ;;
  remove) for t in $tools; do remove "$t"; done ;;
  *) echo "usage: $0 install|check|remove" >&2; exit 2 ;;
esac
