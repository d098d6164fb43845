/**
 * The Swarm's nodes over socket.io (`node:list`), on a PoolRuntime over the FakeCluster: admins
 * can ask for them and hear of a node's change at once; other users can do neither.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { io as connect, type Socket } from 'socket.io-client';
import type { NodeStatus } from '../../machines/types.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { attachRealtime, type RealtimeUser } from '../../runtime/realtime/socket-server.ts';
import { openDb } from '../../runtime/store/db.ts';
import type { Ack, ClientToServerEvents, NodeView, ServerToClientEvents } from '../../shared/events.ts';
import { FakeCluster } from '../fakes/fake-cluster.ts';
import { harness } from './harness.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const USERS: Record<string, RealtimeUser> = {
  pd_ann: { id: 1, username: 'ann', isAdmin: false },
  pd_root: { id: 3, username: 'root', isAdmin: true },
};

const node = (name: string, base: number): NodeStatus => ({ name, state: 'ready', host: `${name}.example`, ports: { nginx: { portStart: base, portEnd: base + 9 } } });

function ask(socket: Client, event: string): Promise<Ack<unknown>> {
  return (socket.timeout(5000) as unknown as { emitWithAck(e: string): Promise<Ack<unknown>> }).emitWithAck(event);
}

test('When node2 drains, then admins get node:list with its state at once and users get nothing; only admins may ask for the nodes', async (t) => {
  const cluster = new FakeCluster([node('n1', 9100), node('n2', 9200)]);
  const h = await harness({ POOLDECK_ENGINE: 'swarm', POOLDECK_POOL: 'nginx=4', POOLDECK_USER_LIMIT: '0' }, { db: await openDb(':memory:'), engine: cluster, dataDir: mkdtempSync(path.join(os.tmpdir(), 'pooldeck-unit-')) });
  const http = createServer();
  const realtime = attachRealtime(http, {
    runtime: h.runtime,
    config: h.config,
    log: silentLogger,
    inspectEveryMs: 50,
    recheckMs: 3_600_000,
    console: null,
    authenticate: async ({ authorization }) => USERS[authorization?.replace(/^Bearer /, '') ?? ''] ?? null,
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const open = async (token: string): Promise<Client> => {
    const socket: Client = connect(url, { extraHeaders: { authorization: `Bearer ${token}` }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };
  const admin = await open('pd_root');
  const user = await open('pd_ann');
  t.teardown(async () => {
    admin.close();
    user.close();
    await realtime.close();
    await new Promise((r) => http.close(r));
    await h.runtime.stop();
  });

  const listed = (await ask(admin, 'node:list')) as { data: NodeView[] };
  t.deepEqual(listed.data.map((n) => [n.name, n.state, n.host, n.slots.available]), [['n1', 'ready', 'n1.example', 2], ['n2', 'ready', 'n2.example', 2]]);
  t.deepEqual(await ask(user, 'node:list'), { error: 'only an admin may do this' });

  const userHeard: NodeView[][] = [];
  user.on('node:list', (nodes) => userHeard.push(nodes));
  const heard = new Promise<NodeView[]>((resolve) => admin.once('node:list', resolve));
  cluster.setNode('n2', 'drain');
  const nodes = await heard;
  t.deepEqual(nodes.map((n) => [n.name, n.state]), [['n1', 'ready'], ['n2', 'drain']]);
  // The user asks for something after the drain: its answer arrives after any node:list would have.
  await ask(user, 'pool:counts');
  t.deepEqual(userHeard, [], 'a user never hears of nodes');
});
