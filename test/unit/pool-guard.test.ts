/**
 * The control-plane guard on a real HTTP server and real sockets: refused connections are logged
 * at most once a minute (the first at once, then one line with the count), so a container that
 * opens connections in a loop cannot flood the log.
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import test from 'ava';
import type { Logger } from '../../runtime/logger.ts';
import { guardFromSubnets, RefusalLog, REFUSAL_LOG_MS } from '../../runtime/http/pool-guard.ts';

function recorder() {
  const warns: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const log: Logger = { debug() {}, info() {}, warn: (msg, fields = {}) => void warns.push({ msg, fields }), error() {}, child: () => log };
  return { log, warns };
}

/** Open a connection and wait until the server has closed it. */
const refusedConnection = (port: number) =>
  new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('close', () => resolve());
    socket.on('error', () => undefined);
  });

test('When a pool address opens 200 connections to the control plane, then each is dropped and the log gets one line a minute with the count', async (t) => {
  const { log, warns } = recorder();
  let now = 1_000_000;
  const server = createServer((_req, res) => res.end('ok'));
  guardFromSubnets(server, ['127.0.0.0/8'], log, new RefusalLog(log, () => now));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    for (let i = 0; i < 200; i++) await refusedConnection(port);
    t.is(warns.length, 1, 'one line for the first refusal');
    t.like(warns[0], { msg: 'guard.refused', fields: { remote: '127.0.0.1' } });

    now += REFUSAL_LOG_MS - 1;
    await refusedConnection(port);
    t.is(warns.length, 1, 'still within the minute');

    now += 1;
    await refusedConnection(port);
    t.is(warns.length, 2);
    t.like(warns[1].fields, { alsoRefused: 200, from: ['127.0.0.1'] });
  } finally {
    server.close();
  }
});
