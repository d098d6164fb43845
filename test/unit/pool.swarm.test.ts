import test from 'ava';
import type { NodeStatus } from '../../machines/types.ts';
import { FakeCluster } from '../fakes/fake-cluster.ts';
import { openDb } from '../../runtime/store/db.ts';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ann, bob, harness, until } from './harness.ts';

const node = (name: string, base: number): NodeStatus => ({
  name,
  state: 'ready',
  host: `${name}.example`,
  ports: { nginx: { portStart: base, portEnd: base + 9 }, ssh: { portStart: base + 80, portEnd: base + 89 } },
});

async function cluster(env: Record<string, string> = {}) {
  const engine = new FakeCluster([node('n1', 9100), node('n2', 9200)]);
  const db = await openDb(':memory:');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-unit-'));
  return harness({ POOLDECK_ENGINE: 'swarm', POOLDECK_POOL: 'nginx=4,ssh=2', POOLDECK_USER_LIMIT: '0', ...env }, { db, engine, dataDir }).then((h) => ({ ...h, cluster: engine }));
}

test('When the pool starts on two nodes, then each type is spread over both, pinned by port, with files copied instead of mounted', async (t) => {
  const h = await cluster();
  const slots = h.runtime.slots();
  t.deepEqual(slots.map((s) => [s.name, s.node, s.host, s.state]), [
    ['pool_nginx_0_9100', 'n1', 'n1.example', 'available'],
    ['pool_nginx_1_9200', 'n2', 'n2.example', 'available'],
    ['pool_nginx_2_9101', 'n1', 'n1.example', 'available'],
    ['pool_nginx_3_9201', 'n2', 'n2.example', 'available'],
    ['pool_ssh_0_9180', 'n1', 'n1.example', 'available'],
    ['pool_ssh_1_9280', 'n2', 'n2.example', 'available'],
  ]);
  const spec = h.cluster.byName('pool_nginx_1_9200')!.spec;
  t.is(spec.node, 'n2');
  t.deepEqual(spec.mounts, [], 'a remote node cannot see the control plane\'s directories');
  t.is(h.cluster.count('putFiles'), 6, 'each new container gets its slot\'s files through the engine');
  t.deepEqual(h.runtime.nodes().map((n) => [n.name, n.state, n.slots.available]), [['n1', 'ready', 3], ['n2', 'ready', 3]]);
  const sweep = await h.runtime.runHealthCheck();
  t.is(sweep.dockerCalls, 2, 'one task listing and one node list');
  await h.runtime.stop();
});

test('When the node holding an assignment goes down, then the assignment moves to the other node with its files, its free slots leave and the pool refills', async (t) => {
  const h = await cluster();
  const first = await h.runtime.launch(ann, 'nginx');
  const second = await h.runtime.launch(bob, 'nginx');
  const onN2 = [first, second].find((l) => l.slot.node === 'n2')!;
  t.truthy(onN2, 'the second launch lands on n2 (n1\'s lowest slot went first)');
  const moved = new Promise<{ from: string; to: string }>((resolve) => h.runtime.once('moved', resolve));
  h.cluster.setNode('n2', 'down');
  const move = await moved;
  t.is(move.from, onN2.slot.name);
  const now = h.runtime.slotOfAssignment(onN2.assignment.id)!;
  t.is(now.node, 'n1');
  t.is(now.state, 'assigned');
  t.like(h.cluster.copies.filter((c) => c.id === now.containerId).at(-1), { node: 'n1', replace: true }, 'the holder\'s files replace the welcome page');
  await until(h.runtime, () => {
    const nginx = h.runtime.slots().filter((s) => s.type === 'nginx');
    return nginx.length === 4 && nginx.every((s) => s.node === 'n1' && (s.state === 'available' || s.state === 'assigned'));
  });
  const ssh = h.runtime.slots().filter((s) => s.type === 'ssh');
  t.deepEqual(ssh.map((s) => s.node), ['n1', 'n1'], 'ssh capacity refilled on n1 too');
  const holders = h.runtime.slots().filter((s) => s.assignment).map((s) => s.assignment!.id).sort();
  t.deepEqual(holders, [first.assignment.id, second.assignment.id].sort(), 'each assignment held exactly once');
  const rows = await h.db.all<Array<{ slot_name: string }>>(`SELECT slot_name FROM assignments WHERE released_at IS NULL ORDER BY id`);
  t.is(rows.length, 2);
  t.true(rows.every((r) => r.slot_name.match(/_91\d\d$/)), 'the store agrees: both on n1');

  h.cluster.setNode('n2', 'ready');
  await h.runtime.runHealthCheck();
  t.is(h.runtime.slots().filter((s) => s.type === 'nginx').length, 4, 'back to the configured size, nothing added twice');
  t.false([...h.cluster.containers.values()].some((c) => c.spec.node === 'n2'), 'no container of a moved or retired slot is left on n2');
  await h.runtime.stop();
});

test('When a node drains and its held container survives, then its free slots leave at once and the held one leaves after release', async (t) => {
  const h = await cluster();
  await h.runtime.launch(ann, 'nginx');
  const held = await h.runtime.launch(bob, 'nginx');
  t.is(held.slot.node, 'n2');
  h.cluster.setNode('n2', 'drain', { keepTasks: true });
  await until(h.runtime, () => h.runtime.slots().filter((s) => s.node === 'n2').map((s) => s.name).join() === held.slot.name);
  t.is(h.runtime.slotOfAssignment(held.assignment.id)!.node, 'n2', 'the holder keeps the container while draining');
  await h.runtime.release(held.assignment.id);
  await until(h.runtime, () => h.runtime.slots().every((s) => s.node === 'n1') && h.runtime.slots().filter((s) => s.type === 'nginx').length === 4);
  t.deepEqual([...new Set(h.runtime.slots().map((s) => s.node))], ['n1'], 'after the release nothing is left on the drained node');
  t.is(h.runtime.slots().filter((s) => s.type === 'nginx').length, 4, 'the pool keeps its size on the remaining node');
  await h.runtime.stop();
});

test('When a node drains and Swarm shuts its tasks down, then a held slot moves at once with its files and nothing of the pool stays on the drained node', async (t) => {
  const h = await cluster();
  await h.runtime.launch(ann, 'nginx');
  const held = await h.runtime.launch(bob, 'nginx');
  t.is(held.slot.node, 'n2');
  const moved = new Promise<{ from: string; to: string }>((resolve) => h.runtime.once('moved', resolve));
  h.cluster.setNode('n2', 'drain');
  const move = await moved;
  t.is(move.from, held.slot.name);
  const now = h.runtime.slotOfAssignment(held.assignment.id)!;
  t.is(now.node, 'n1');
  t.like(h.cluster.copies.filter((c) => c.id === now.containerId).at(-1), { node: 'n1', replace: true }, 'the holder\'s files come along');
  await until(h.runtime, () => {
    const slots = h.runtime.slots();
    return slots.every((s) => s.node === 'n1') && ['nginx', 'ssh'].every((type) => slots.filter((s) => s.type === type && (s.state === 'available' || s.state === 'assigned')).length === (type === 'nginx' ? 4 : 2));
  });
  t.false([...h.cluster.containers.values()].some((c) => c.spec.node === 'n2'), 'no container of the pool is left on the drained node');
  const holders = h.runtime.slots().filter((s) => s.assignment).map((s) => s.assignment!.id);
  t.is(holders.length, 2);
  t.is(new Set(holders).size, 2, 'each assignment held once');
  await h.runtime.stop();
});
