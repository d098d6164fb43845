/**
 * Pool containers must not reach the control plane. Docker lets a container reach every port the
 * host listens on through its bridge gateway, so the HTTP server drops any connection whose source
 * address lies in the pool network's subnet before a byte is read. (Containers cannot reach each
 * other at all: the pool network is created with inter-container communication disabled.)
 */
import type { Server } from 'node:http';
import { BlockList } from 'node:net';
import type { Logger } from '../logger.ts';

export function guardFromSubnets(server: Server, subnets: string[], log: Logger): void {
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
      log.warn('guard.refused', { remote, reason: 'connection from a pool container to the control plane' });
      socket.destroy();
    }
  });
  log.info('guard.active', { subnets });
}
