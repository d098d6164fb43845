/**
 * The host, seen from a pool container: Docker lets a container reach every service the host
 * listens on through its network's gateway (sshd, databases, the Docker API on TCP, …). Pool
 * bridges have predictable interface names (`pd-<pool>`, see bridgeName), and one pair of rules
 * drops everything that comes from such a bridge to the host itself, except replies to
 * connections the host opened (health probes and container URLs go through docker-proxy, i.e.
 * from the host to the container):
 *
 *   -N POOLDECK-INPUT
 *   -I INPUT 1 -j POOLDECK-INPUT
 *   -A POOLDECK-INPUT -i pd-+ -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
 *   -A POOLDECK-INPUT -i pd-+ -j DROP
 *
 * (IPv4 and IPv6.) Forwarded traffic (a container's outbound connections) is not touched.
 * Pooldeck installs them itself when it runs as root (`make run`); the systemd service runs
 * unprivileged, so the Ansible role installs ops/scripts/host-firewall.sh as a boot-time unit.
 * Either way Pooldeck checks from inside a container at start and warns when the host answers.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Logger } from '../logger.ts';

const run = promisify(execFile);

export const CHAIN = 'POOLDECK-INPUT';
export const BRIDGE_PREFIX = 'pd-';
const RULES = [
  ['-i', `${BRIDGE_PREFIX}+`, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'RETURN'],
  ['-i', `${BRIDGE_PREFIX}+`, '-j', 'DROP'],
];

/** The pool bridge's interface name: `pd-<pool>`, at most 15 characters (Linux IFNAMSIZ - 1). */
export function bridgeName(poolName: string): string {
  if (poolName.length <= 12) return `${BRIDGE_PREFIX}${poolName}`;
  return `${BRIDGE_PREFIX}${poolName.slice(0, 5)}-${createHash('sha256').update(poolName).digest('hex').slice(0, 6)}`;
}

export type FirewallInstall = { installed: true; families: string[] } | { installed: false; reason: string };

/** Install (or repair) the rules with iptables and ip6tables. Needs root (CAP_NET_ADMIN). */
export async function installHostFirewall(log: Logger): Promise<FirewallInstall> {
  if (process.getuid?.() !== 0) return { installed: false, reason: 'Pooldeck does not run as root; the rules must come from the host (ops/scripts/host-firewall.sh, installed by the Ansible role)' };
  const families: string[] = [];
  const failures: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    try {
      await ensureRules(tool);
      families.push(tool);
    } catch (error) {
      failures.push(`${tool}: ${((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n')[0]}`);
    }
  }
  if (!families.includes('iptables')) return { installed: false, reason: failures.join('; ') };
  if (failures.length) log.warn('host.firewall.partial', { failures });
  log.info('host.firewall.installed', { chain: CHAIN, interfaces: `${BRIDGE_PREFIX}+`, families });
  return { installed: true, families };
}

async function ensureRules(tool: string): Promise<void> {
  const ipt = (...args: string[]) => run(tool, ['-w', '5', ...args]);
  await ipt('-N', CHAIN).catch(() => undefined); // exists already
  await ipt('-C', 'INPUT', '-j', CHAIN).catch(() => ipt('-I', 'INPUT', '1', '-j', CHAIN));
  const listed = (await ipt('-S', CHAIN)).stdout.split('\n').filter((l) => l.startsWith('-A '));
  const wanted = RULES.map((r) => `-A ${CHAIN} ${r.join(' ')}`);
  if (listed.length === wanted.length && listed.every((line, i) => line === wanted[i])) return;
  await ipt('-F', CHAIN);
  for (const rule of RULES) await ipt('-A', CHAIN, ...rule);
}

/**
 * From inside a running pool container, try to open a TCP connection to a listener the host
 * opens on 0.0.0.0 for the purpose, at the pool network's gateway. `reachable: true` means the
 * host firewall is missing; `null` means the container had no tool to try with.
 */
export async function probeHostFromContainer(
  exec: (cmd: string[]) => Promise<{ exitCode: number }>,
  gateway: string,
): Promise<{ reachable: boolean | null }> {
  let seen = false;
  const listener = createServer((socket) => {
    seen = true;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '0.0.0.0', () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  const script =
    'exec 2>/dev/null; if command -v bash >/dev/null; then timeout 3 bash -c "exec 3<>/dev/tcp/$0/$1"; ' +
    'elif command -v nc >/dev/null; then timeout 3 nc -z "$0" "$1"; else exit 125; fi';
  try {
    const { exitCode } = await exec(['sh', '-c', script, gateway, String(port)]);
    if (seen || exitCode === 0) return { reachable: true };
    return { reachable: exitCode === 125 ? null : false };
  } finally {
    listener.close();
  }
}
