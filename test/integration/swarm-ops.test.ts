/**
 * Operating a pool on the real 2-node Swarm lab (test/support/swarm-lab.ts): the terminal, the
 * log and the stats of a slot on node 2 reach node 2's engine over socket.io as the dashboard
 * uses them; draining node 2 through the manager's API takes its slots away, and undraining it
 * gives it slots again when the pool grows; the admin's resize cap is what the ready nodes'
 * ranges hold. Runs serially: the drain changes the lab.
 */
import { rmSync } from 'node:fs';
import test from 'ava';
import { ensureSwarmLab, removeSwarmPool, setAvailability, type SwarmLab } from '../support/swarm-lab.ts';
import { eventually, fetchText, startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { ask, openSocket, TerminalClient, type PoolSocket } from '../support/sockets.ts';
import type { StatsSample, LogLine } from '../../shared/console-events.ts';
import { Client, adminClient, form, newTokenUser } from './client.ts';

let lab: SwarmLab;
let deck: TestDeck;
const sockets: PoolSocket[] = [];

test.before(async (t) => {
  t.timeout(10 * 60_000);
  lab = await ensureSwarmLab();
  if (lab.nodes.length < 2) throw new Error('the swarm tests need a lab of at least 2 nodes');
  // POOLDECK_PORTS_NGINX does not apply on a Swarm (each node has its ranges): a narrow one here
  // checks that the admin's resize cap comes from the nodes' ranges, not from it.
  deck = await startTestDeck({}, testEnv({ ...lab.env, POOLDECK_POOL: 'nginx=4', POOLDECK_PORTS_NGINX: '30000-30003', POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: '5' }));
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  const poolName = deck?.config.poolName;
  await deck?.stop().catch(() => undefined);
  if (lab) await setAvailability(lab, 2, 'active').catch(() => undefined);
  if (lab && poolName) await removeSwarmPool(lab, poolName);
  if (deck) rmSync(deck.env.POOLDECK_DATA!, { recursive: true, force: true });
});

interface ContainerView {
  id: number;
  name: string;
  url?: string;
}

const slotOf = (name: string) => deck.runtime.slots().find((s) => s.name === name);
const slotsNow = () => deck.runtime.slots().map((s) => `${s.name} ${s.node} ${s.state}/${s.phase}${s.error ? ` (${s.error})` : ''}`).join('\n');

let holder: Client;
let socket: PoolSocket;
/** The holder's nginx container on node 2 and the one on node 1. */
let onNode2: ContainerView;
let onNode1: ContainerView;

test.serial('When the holder opens a terminal, reads the log and the stats of a container on node 2, then each goes to node 2\'s engine', async (t) => {
  holder = await newTokenUser(deck, 'ops');
  const launched: ContainerView[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await holder.post('/api/containers', { type: 'nginx' });
    t.is(res.status, 201, JSON.stringify(res.body));
    launched.push(res.body.container);
  }
  onNode2 = launched.find((c) => slotOf(c.name)?.node === 'swarmlab-node2')!;
  onNode1 = launched.find((c) => slotOf(c.name)?.node === 'swarmlab-node1')!;
  t.truthy(onNode2 && onNode1, `one launch on each node:\n${slotsNow()}`);
  const containerId = slotOf(onNode2.name)!.containerId!;
  await lab.node(2).docker.getContainer(containerId).inspect(); // the task container is node 2's
  socket = await openSocket(deck.url, { token: holder.token! });
  sockets.push(socket);

  // Terminal: a command's output comes back, and what it wrote is in node 2's container.
  const term = await TerminalClient.open(socket, onNode2.id);
  const marker = `ops-${Date.now()}`;
  const out = await term.run(`echo ${marker} > /tmp/ops-mark; cat /etc/hostname; echo done-$((6*7))`, /done-42/);
  t.true(out.includes(containerId.slice(0, 12)), `the shell runs in the slot's task container (${containerId.slice(0, 12)}): ${out}`);
  const exec = await lab.node(2).docker.getContainer(containerId).exec({ Cmd: ['cat', '/tmp/ops-mark'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on('end', r));
  t.true(Buffer.concat(chunks).toString('latin1').includes(marker), 'node 2\'s engine sees the file the terminal wrote');
  t.true(await term.close());

  // Logs: the access line of a request made just now.
  const path = `/ops-${Date.now()}.html`;
  t.is((await fetchText(`${onNode2.url!.replace(/\/$/, '')}${path}`)).status, 404);
  const lines: LogLine[] = [];
  socket.on('logs:data', (p) => lines.push(...p.lines));
  const ended = new Promise<{ reason: string }>((resolve) => socket.once('logs:end', resolve));
  const logs = await ask<{ handle: string }>(socket, 'logs:subscribe', { id: onNode2.id, tail: 50, follow: false });
  t.regex(logs.handle, /^l-/);
  t.is((await ended).reason, 'end of the log');
  t.true(lines.some((l) => l.text.includes(`GET ${path}`)), `the request is in the log: ${JSON.stringify(lines.slice(-5))}`);

  // Stats: one sample with the slot's memory limit.
  const samples: StatsSample[] = [];
  let statsEnded = '';
  socket.on('stats:sample', (s) => samples.push(s));
  socket.on('stats:end', (p) => (statsEnded = p.reason));
  const stats = await ask<{ handle: string }>(socket, 'stats:subscribe', { id: onNode2.id });
  t.true((await eventually(() => samples.length >= 1 || statsEnded !== '', 10_000)).ok && statsEnded === '', `a sample arrives (stream ended: ${statsEnded || 'no'})`);
  t.true(samples[0]!.memoryBytes > 0);
  t.is(samples[0]!.memoryLimitBytes, deck.config.limits.memoryBytes, 'the limit of the slot\'s task container');
  t.true(await ask(socket, 'stats:unsubscribe', { handle: stats.handle }));
});

test.serial('When node 2 is drained through the manager, then its slots leave for node 1 (a held one with its files, the holder told), and once undrained a growing pool places on it again', async (t) => {
  t.timeout(3 * 60_000);
  await holder.post(`/api/containers/${onNode2.id}/files`, form({ 'kept.html': 'kept across the drain' }));
  const told: Array<{ id: number; from: string; to: string }> = [];
  socket.on('container:moved', (payload) => told.push(payload));
  const drainedAt = Date.now();
  await setAvailability(lab, 2, 'drain');

  const away = await eventually(() => {
    const slots = deck.runtime.slots();
    const serving = slots.filter((s) => s.state === 'available' || s.state === 'assigned');
    return slots.every((s) => s.node === 'swarmlab-node1') && serving.length === 4;
  }, 45_000, 100);
  t.true(away.ok, `4 nginx serving, every slot on node 1:\n${slotsNow()}`);
  t.log(`drain → every slot on node 1: ${Date.now() - drainedAt} ms`);
  t.true((await eventually(() => told.length === 1, 10_000)).ok, `the holder of the node 2 container is told it moved (${JSON.stringify(told)})`);
  t.is(told[0]!.id, onNode2.id);
  const now = (await holder.get(`/api/containers/${onNode2.id}`)).body.container as ContainerView;
  t.is(slotOf(now.name)!.node, 'swarmlab-node1');
  t.is((await fetchText(`${now.url}kept.html`)).body, 'kept across the drain', 'its files came along');
  t.is((await fetchText(onNode1.url!)).status, 200, 'the container on node 1 was not touched');
  const held = deck.runtime.slots().filter((s) => s.assignment).map((s) => s.assignment!.id).sort();
  t.deepEqual(held, [onNode1.id, onNode2.id].sort(), 'each assignment held once');
  t.deepEqual(deck.runtime.nodes().map((n) => [n.name, n.state]), [['swarmlab-node1', 'ready'], ['swarmlab-node2', 'drain']]);
  const admin = await adminClient(deck);
  const node1Holds = lab.node(1).ports.nginx!.end - lab.node(1).ports.nginx!.start + 1;
  const over = await admin.post('/api/admin/pool/resize', { type: 'nginx', size: node1Holds + 1 });
  t.is(over.status, 400, 'while node 2 drains, the cap is what node 1\'s nginx range holds');
  t.is(over.body.error, `"size" must be from 0 to ${node1Holds}`);
  const add = await admin.post('/api/admin/pool/add', { type: 'nginx', count: node1Holds });
  t.is(add.status, 400);
  t.is(add.body.error, `nginx has 4 containers; the ready nodes' nginx port ranges fit ${node1Holds} at most`);

  await setAvailability(lab, 2, 'active');
  t.true((await eventually(() => deck.runtime.nodes().every((n) => n.state === 'ready'), 15_000, 100)).ok, 'the pool sees node 2 active again');
  t.true(deck.runtime.slots().every((s) => s.node === 'swarmlab-node1'), 'nothing moves back by itself');
  const grown = await admin.post('/api/admin/pool/resize', { type: 'nginx', size: 5 });
  t.is(grown.status, 200, `5 is beyond POOLDECK_PORTS_NGINX (4 ports) but within the nodes' ranges: ${JSON.stringify(grown.body)}`);
  const added = grown.body.result.added as string[];
  t.is(added.length, 1);
  t.is(slotOf(added[0]!)?.node, 'swarmlab-node2', 'the new slot goes to the node with the fewest');
  t.true((await eventually(() => slotOf(added[0]!)?.state === 'available', 30_000, 100)).ok, `the new slot on node 2 is available:\n${slotsNow()}`);
  const port = slotOf(added[0]!)!.hostPort;
  t.is((await fetchText(`http://127.0.0.1:${port}/`)).status, 200, 'and answers at 127.0.0.1');
});
