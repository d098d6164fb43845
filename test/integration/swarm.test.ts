/**
 * Pooldeck on a real 2-node Docker Swarm (the lab of ops/scripts/swarm-lab.sh, made or reused by
 * test/support/swarm-lab.ts): slots as services pinned to nodes, launches answering over HTTP and
 * ssh at 127.0.0.1 on both nodes, uploads through the nodes' Docker APIs, a killed task rebuilt
 * in place, and a stopped node whose assignments move to the other node. Runs serially: the
 * later tests change the lab (a node stops and comes back).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import type Docker from 'dockerode';
import { ensureSwarmLab, removeSwarmPool, startNode, stopNode, waitNodeState, type SwarmLab } from '../support/swarm-lab.ts';
import { eventually, fetchText, startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { openSocket, type PoolSocket } from '../support/sockets.ts';
import type { SlotView } from '../../machines/types.ts';
import { Client, adminClient, newTokenUser, form } from './client.ts';

const run = promisify(execFile);
let lab: SwarmLab;
let deck: TestDeck;
const sockets: PoolSocket[] = [];

const POOL = 'nginx=4,ssh=2';

test.before(async (t) => {
  t.timeout(10 * 60_000);
  lab = await ensureSwarmLab();
  if (lab.nodes.length < 2) throw new Error('the swarm tests need a lab of at least 2 nodes');
  deck = await startTestDeck({}, testEnv({ ...lab.env, POOLDECK_POOL: POOL, POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: '5' }));
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  const poolName = deck?.config.poolName;
  await deck?.stop().catch(() => undefined);
  if (lab && poolName) {
    await startNode(2).catch(() => undefined);
    await removeSwarmPool(lab, poolName);
  }
  if (deck) (await import('node:fs')).rmSync(deck.env.POOLDECK_DATA!, { recursive: true, force: true });
});

interface ContainerView {
  id: number;
  name: string;
  host_port: number;
  url?: string;
  ssh?: string;
  status: string;
}

const nodeOfSlot = (name: string) => deck.runtime.slots().find((s) => s.name === name)?.node;

async function launch(client: Client, type: string): Promise<ContainerView> {
  const res = await client.post('/api/containers', { type });
  if (res.status !== 201) throw new Error(`launch ${type}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.container;
}

/** The task container of a slot, found on its node's own engine. */
async function taskContainer(slot: string): Promise<{ docker: Docker; info: Docker.ContainerInspectInfo }> {
  const view = deck.runtime.slots().find((s) => s.name === slot)!;
  const node = lab.nodes.find((n) => n.name === view.node)!;
  return { docker: node.docker, info: await node.docker.getContainer(view.containerId!).inspect() };
}

const COMMON = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive'];

async function ssh(port: number, password: string, command: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('sshpass', ['-p', password, 'ssh', '-p', String(port), ...COMMON, 'user@127.0.0.1', command], { timeout: 30_000 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

test.serial('When the pool starts on the lab, then each type is spread over both nodes as one-replica services pinned by node, host-mode ports, no restart, init and the pool labels', async (t) => {
  const slots = deck.runtime.slots();
  t.deepEqual(slots.map((s) => s.state), slots.map(() => 'available'));
  for (const type of ['nginx', 'ssh']) {
    t.deepEqual(new Set(slots.filter((s) => s.type === type).map((s) => s.node)), new Set(['swarmlab-node1', 'swarmlab-node2']), `${type} on both nodes`);
  }
  const slot = slots.find((s) => s.node === 'swarmlab-node2' && s.type === 'nginx')!;
  t.true(slot.hostPort >= lab.node(2).ports.nginx!.start && slot.hostPort <= lab.node(2).ports.nginx!.end, 'its port is in node 2\'s nginx range');
  const service = await lab.manager.getService(slot.name).inspect();
  const spec = service.Spec;
  t.deepEqual(spec.Mode, { Replicated: { Replicas: 1 } });
  t.deepEqual(spec.TaskTemplate.Placement.Constraints, ['node.hostname == swarmlab-node2']);
  t.is(spec.TaskTemplate.RestartPolicy.Condition, 'none');
  t.true(spec.TaskTemplate.ContainerSpec.Init);
  t.like(spec.EndpointSpec.Ports[0], { PublishedPort: slot.hostPort, PublishMode: 'host' });
  t.like(spec.Labels, { 'pooldeck.pool': deck.config.poolName, 'pooldeck.type': 'nginx', 'pooldeck.port': String(slot.hostPort) });

  const { docker, info } = await taskContainer(slot.name);
  t.like(info.Config.Labels, { 'pooldeck.pool': deck.config.poolName, 'pooldeck.type': 'nginx', 'pooldeck.slot': slot.name });
  t.deepEqual(info.HostConfig.CapDrop, ['ALL']);
  t.is(info.HostConfig.Memory, deck.config.limits.memoryBytes);
  t.is(info.HostConfig.PidsLimit, deck.config.limits.pidsLimit);
  t.is(info.HostConfig.NanoCpus, deck.config.limits.nanoCpus);
  t.false(info.HostConfig.Privileged);
  t.deepEqual(info.Mounts, [], 'no bind mount: files come through the Docker API');
  // no-new-privileges is the node dockerd's flag (the service spec cannot ask for it): check the process.
  const exec = await docker.getContainer(info.Id).exec({ Cmd: ['grep', 'NoNewPrivs', '/proc/1/status'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on('end', r));
  t.regex(Buffer.concat(chunks).toString('latin1'), /NoNewPrivs:\s+1/);

  const admin = await adminClient(deck);
  const pool = await admin.get('/api/admin/pool');
  t.is(pool.status, 200);
  t.is(pool.body.slots.find((s: { name: string }) => s.name === slot.name).node, 'swarmlab-node2', 'the admin API shows each slot\'s node');
  t.deepEqual(pool.body.nodes.map((n: { name: string; state: string; slots: { available: number } }) => [n.name, n.state, n.slots.available]), [
    ['swarmlab-node1', 'ready', 3],
    ['swarmlab-node2', 'ready', 3],
  ]);
  const metrics = await admin.get('/metrics');
  t.regex(metrics.body, /pooldeck_node_slots\{node="swarmlab-node2",state="available"\} 3/);
  t.regex(metrics.body, /pooldeck_node_ready\{node="swarmlab-node1",state="ready"\} 1/);
});

let web: ContainerView[] = [];
let box: { view: ContainerView; password: string; client: Client } | null = null;
let holder: Client;

test.serial('When a user launches on each node, then both answer over HTTP and ssh at 127.0.0.1, and an upload is served at once but cannot be written by the holder', async (t) => {
  holder = await newTokenUser(deck, 'sw');
  web = [await launch(holder, 'nginx'), await launch(holder, 'nginx')];
  t.deepEqual(new Set(web.map((c) => nodeOfSlot(c.name))), new Set(['swarmlab-node1', 'swarmlab-node2']), 'one launch on each node');
  for (const c of web) {
    t.regex(c.url!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetchText(c.url!);
    t.is(page.status, 200);
    t.regex(page.body, /Pooldeck nginx/);
    const up = await holder.post(`/api/containers/${c.id}/files`, form({ 'hello.html': `hello from ${c.name}` }));
    t.is(up.status, 201, JSON.stringify(up.body));
    t.is((await fetchText(`${c.url}hello.html`)).body, `hello from ${c.name}`, 'served right after the upload answered');
  }
  const gone = await holder.del(`/api/containers/${web[0]!.id}/files/hello.html`);
  t.is(gone.status, 200);
  t.is((await fetchText(`${web[0]!.url}hello.html`)).status, 404, 'a deleted file is gone from the container too');
  await holder.post(`/api/containers/${web[0]!.id}/files`, form({ 'hello.html': `hello from ${web[0]!.name}` }));

  const boxes = [await launch(holder, 'ssh'), await launch(holder, 'ssh')];
  t.deepEqual(new Set(boxes.map((c) => nodeOfSlot(c.name))), new Set(['swarmlab-node1', 'swarmlab-node2']));
  for (const c of boxes) {
    t.regex(c.ssh!, /^ssh -p \d+ user@127\.0\.0\.1$/);
    const creds = await holder.get(`/api/containers/${c.id}/credentials`);
    t.is(creds.status, 200);
    const login = await ssh(c.host_port, creds.body.password, 'id -un; touch /srv/www/mine 2>&1; echo done');
    t.is(login.code, 0, login.out);
    t.regex(login.out, /^user\n/);
    t.regex(login.out, /Permission denied/, 'the holder cannot write the web root');
  }
  const onNode2 = boxes.find((c) => nodeOfSlot(c.name) === 'swarmlab-node2')!;
  box = { view: onNode2, password: (await holder.get(`/api/containers/${onNode2.id}/credentials`)).body.password, client: holder };
});

test.serial('When a task container is killed through its node\'s engine, then the slot is rebuilt in place on that node with its files', async (t) => {
  const target = web.find((c) => nodeOfSlot(c.name) === 'swarmlab-node2')!;
  const { docker, info } = await taskContainer(target.name);
  const recovered = new Promise<{ name: string; durationMs: number }>((resolve) => deck.runtime.once('recovery', resolve));
  const killedAt = Date.now();
  await docker.getContainer(info.Id).kill();
  const event = await recovered;
  t.is(event.name, target.name);
  const serving = await eventually(async () => (await fetchText(`${target.url}hello.html`)).body === `hello from ${target.name}`, 10_000);
  t.true(serving.ok, 'the holder\'s file is served again');
  t.log(`kill → serving the file again: ${Date.now() - killedAt} ms (recovery ${event.durationMs} ms)`);
  const slot = deck.runtime.slots().find((s) => s.name === target.name)!;
  t.is(slot.node, 'swarmlab-node2');
  t.not(slot.containerId, info.Id);
  t.is(slot.state, 'assigned');
});

test.serial('When the node holding assignments is stopped, then they move to the other node with files and credentials, the holder is told, and the node\'s return leaves the pool whole', async (t) => {
  t.timeout(4 * 60_000);
  const page = web.find((c) => nodeOfSlot(c.name) === 'swarmlab-node2')!;
  const socket = await openSocket(deck.url, { token: holder.token! });
  sockets.push(socket);
  const told: Array<{ id: number; from: string; to: string }> = [];
  socket.on('container:moved', (payload) => told.push(payload));

  const stoppedAt = Date.now();
  // What the pool did, for the messages of the assertions below (node loss is timing-dependent).
  const timeline: string[] = [];
  const stamp = () => String(Date.now() - stoppedAt).padStart(6);
  const onSlot = (s: SlotView) => timeline.push(`${stamp()} ${s.name} ${s.node} ${s.state}/${s.phase} ${s.error ?? ''}`);
  const onRemoved = (name: string) => timeline.push(`${stamp()} ${name} removed`);
  deck.runtime.on('slot', onSlot);
  deck.runtime.on('slot.removed', onRemoved);
  t.teardown(() => {
    deck.runtime.off('slot', onSlot);
    deck.runtime.off('slot.removed', onRemoved);
  });
  const slotsNow = () => deck.runtime.slots().map((s) => `${s.name} ${s.node} ${s.state}/${s.phase}`).join('; ');
  const story = () => `slots: ${slotsNow()}\ntimeline since the stop (ms):\n${timeline.join('\n')}`;
  await stopNode(2);
  await waitNodeState(lab, 2, 'down');
  t.log(`node 2 marked down after ${Date.now() - stoppedAt} ms`);
  const moved = await eventually(() => told.length === 2, 30_000, 100);
  t.true(moved.ok, `the holder is told of both moves (got ${JSON.stringify(told)})`);
  t.deepEqual(told.map((m) => m.id).sort(), [page.id, box!.view.id].sort());

  const now = (await holder.get(`/api/containers/${page.id}`)).body.container as ContainerView;
  t.not(now.name, page.name);
  t.is(nodeOfSlot(now.name), 'swarmlab-node1');
  t.is((await fetchText(`${now.url}hello.html`)).body, `hello from ${page.name}`, 'its files came along');
  t.log(`node stopped → moved page serving: ${Date.now() - stoppedAt} ms`);
  const movedBox = (await holder.get(`/api/containers/${box!.view.id}`)).body.container as ContainerView;
  t.is(nodeOfSlot(movedBox.name), 'swarmlab-node1');
  const login = await ssh(movedBox.host_port, box!.password, 'echo still-me');
  t.is(login.code, 0, login.out);
  t.regex(login.out, /still-me/, 'the same password lets the holder in on the new node');

  const serving = () => deck.runtime.slots().filter((s) => s.state === 'available' || s.state === 'assigned');
  const whole = () => ['nginx', 'ssh'].every((type) => serving().filter((s) => s.type === type).length === (type === 'nginx' ? 4 : 2));
  t.true((await eventually(whole, 30_000, 100)).ok, `the pool refilled: 4 nginx + 2 ssh available or assigned\n${story()}`);
  // Every slot of the down node is out of service at once and the refill is on node 1 only; the
  // slots node 2 had leave the pool (their services removed through the manager, the node being
  // down) once their actors have removed them, which is not the same instant as the refill.
  t.true(serving().every((s) => s.node === 'swarmlab-node1'), `no slot serves from the down node, the refill is on node 1\n${story()}`);
  const leftNode2 = await eventually(async () => {
    const services = await lab.manager.listServices({ filters: { label: [`pooldeck.pool=${deck.config.poolName}`] } });
    const slots = deck.runtime.slots();
    return slots.every((s) => s.node === 'swarmlab-node1') && JSON.stringify(services.map((s) => s.Spec!.Name!).sort()) === JSON.stringify(slots.map((s) => s.name).sort());
  }, 5_000, 100);
  t.true(leftNode2.ok, `while node 2 is down, the pool keeps no slot and no service of it\n${story()}`);

  await startNode(2);
  await waitNodeState(lab, 2, 'ready');
  await deck.runtime.runHealthCheck();
  const settled = await eventually(async () => {
    const services = await lab.manager.listServices({ filters: { label: [`pooldeck.pool=${deck.config.poolName}`] } });
    const names = services.map((s) => s.Spec!.Name!).sort();
    const slots = deck.runtime.slots().map((s) => s.name).sort();
    return whole() && JSON.stringify(names) === JSON.stringify(slots);
  }, 30_000, 250);
  t.true(settled.ok, 'one service per slot: no stale service of a moved slot');
  const leftovers = await lab.node(2).docker.listContainers({ all: true, filters: { label: [`pooldeck.pool=${deck.config.poolName}`] } });
  t.true((await eventually(async () => (await lab.node(2).docker.listContainers({ all: true, filters: { label: [`pooldeck.pool=${deck.config.poolName}`] } })).length === 0, 20_000, 250)).ok,
    `node 2 keeps no container of a moved or retired slot (had ${leftovers.length})`);
  const held = deck.runtime.slots().filter((s) => s.assignment).map((s) => s.assignment!.id);
  t.is(held.length, new Set(held).size, 'no assignment held twice');
  t.is(held.length, 4);
  const rows = await deck.db.all<Array<{ n: number }>>(`SELECT COUNT(*) AS n FROM assignments WHERE released_at IS NULL`);
  t.is(rows[0]!.n, 4);
});
