/**
 * Pool containers must not reach the control plane. Docker lets a container reach every port the
 * host listens on through its bridge gateway, so the HTTP server drops any connection whose source
 * address lies in the pool network's subnet before a byte is read. (Containers cannot reach each
 * other at all: the pool network is created with inter-container communication disabled; and the
 * host firewall, runtime/security/host-firewall.ts, drops such traffic before it gets here.)
 *
 * A container can open connections as fast as it likes, so the refusals are logged at most once
 * per REFUSAL_LOG_MS: the first at once, then one line with how many were refused meanwhile.
 */
import type { Server } from 'node:http';
import { BlockList } from 'node:net';
import type { Logger } from '../logger.ts';

export const REFUSAL_LOG_MS = 60_000;

/** Counts refusals and says when to write a line: the first at once, then one per `everyMs`. */
export class RefusalLog {
  private windowStart = -Infinity;
  private suppressed = 0;
  private remotes = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly everyMs = REFUSAL_LOG_MS,
  ) {}

  refused(remote: string): void {
    const now = this.now();
    if (now - this.windowStart >= this.everyMs) {
      const meanwhile = this.suppressed;
      const from = [...this.remotes].slice(0, 10);
      this.windowStart = now;
      this.suppressed = 0;
      this.remotes.clear();
      this.log.warn('guard.refused', { remote, reason: 'connection from a pool container to the control plane', ...(meanwhile ? { alsoRefused: meanwhile, from } : {}) });
      return;
    }
    this.suppressed += 1;
    this.remotes.add(remote);
  }
}

export function guardFromSubnets(server: Server, subnets: string[], log: Logger, refusals = new RefusalLog(log)): void {
  if (subnets.length === 0) return;
  const blocked = new BlockList();
  for (const subnet of subnets) {
    const [address, prefix] = subnet.split('/');
    if (!address || !prefix || !/^\d+$/.test(prefix)) throw new Error(`pool network subnet "${subnet}" is not of the form address/prefix; refusing to start without the guard`);
    blocked.addSubnet(address, Number(prefix), address.includes(':') ? 'ipv6' : 'ipv4');
  }
  server.on('connection', (socket) => {
    const remote = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (remote && blocked.check(remote, remote.includes(':') ? 'ipv6' : 'ipv4')) {
      refusals.refused(remote);
      socket.destroy();
    }
  });
  log.info('guard.active', { subnets });
}
