/**
 * The runtime's `nodes` news (relayed to admins as `node:list`): told when a node's state changes,
 * not on every sweep that lists the same nodes again.
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeStatus } from '../../machines/types.ts';
import type { NodeCounts } from '../../runtime/pool/pool-runtime.ts';
import { nodeView } from '../../runtime/http/views.ts';
import { openDb } from '../../runtime/store/db.ts';
import { FakeCluster } from '../fakes/fake-cluster.ts';
import { harness } from './harness.ts';

const node = (name: string, base: number): NodeStatus => ({
  name,
  state: 'ready',
  host: `${name}.example`,
  ports: { nginx: { portStart: base, portEnd: base + 9 } },
});

test('When a node drains and sweeps list the nodes again, then listeners hear of the drain once, with each node\'s slot counts', async (t) => {
  const cluster = new FakeCluster([node('n1', 9100), node('n2', 9200)]);
  const h = await harness({ POOLDECK_ENGINE: 'swarm', POOLDECK_POOL: 'nginx=4', POOLDECK_USER_LIMIT: '0' }, { db: await openDb(':memory:'), engine: cluster, dataDir: mkdtempSync(path.join(os.tmpdir(), 'pooldeck-unit-')) });
  const heard: NodeCounts[][] = [];
  h.runtime.on('nodes', (nodes) => heard.push(nodes));
  await h.runtime.runHealthCheck();
  await h.runtime.runHealthCheck();
  t.deepEqual(heard, [], 'sweeps that find the same nodes are no news');

  cluster.setNode('n2', 'drain');
  t.is(heard.length, 1);
  t.deepEqual(heard[0]!.map((n) => [n.name, n.state]), [['n1', 'ready'], ['n2', 'drain']]);
  await h.runtime.runHealthCheck();
  t.is(heard.length, 1, 'the next sweep finds n2 still draining: no news');

  // The view admins get: the same fields as GET /api/admin/pool, counts per state.
  const views = h.runtime.nodes().map(nodeView);
  t.deepEqual(views.map((v) => Object.keys(v).sort()), [['host', 'name', 'ports', 'slots', 'state'], ['host', 'name', 'ports', 'slots', 'state']]);
  const total = views.reduce((sum, v) => sum + Object.values(v.slots).reduce((a, b) => a + b, 0), 0);
  t.is(total, h.runtime.slots().length, 'every slot is counted on its node');
  t.is(views.find((v) => v.name === 'n2')!.slots.available, h.runtime.slots().filter((s) => s.node === 'n2' && s.state === 'available').length);

  cluster.setNode('n2', 'ready');
  t.is(heard.length, 2);
  t.is(heard[1]!.find((n) => n.name === 'n2')!.state, 'ready');
  await h.runtime.stop();
});
