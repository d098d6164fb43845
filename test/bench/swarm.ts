/**
 * The Swarm section of `make bench` (BENCH_ONLY=swarm), on the lab of ops/scripts/swarm-lab.sh
 * (docs/swarm.md). It never starts the lab: when the lab is not up it records why and skips.
 * Where several people share the lab, nobody else may use it meanwhile (the section stops node 2).
 *
 *   1. a pool of 2 × 20 slots (nginx=20,ssh=20: 10 of each on each node) from nothing → every slot available
 *   2. launch latency on that Swarm pool vs a single-host pool in the same run (same loop: rounds of
 *      10 sequential POST /api/containers, all released, wait until all are available again)
 *   3. docker kill of an assigned task container through its node's engine → the file served again
 *   4. docker stop of the node holding an assignment → the moved assignment serving its file on the other node
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client, form, newTokenUser } from '../integration/client.ts';
import { removePool, testEnv } from '../support/server.ts';
import { LAB_SCRIPT, readLab, removeSwarmPool, startNode, stopNode, waitNodeState, type SwarmLab } from '../support/swarm-lab.ts';
import { startBenchDeck, type BenchDeck } from './deck.ts';
import { cleanups, freePortBlock, log, now, QUICK, rawGet, results, stats, until } from './util.ts';
import { launch, type Launched } from './warm-pool.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_SWARM_ROUNDS ?? (QUICK ? 3 : 6));
const PER_ROUND = 10;
const KILLS = QUICK ? 3 : 5;
/** Both pools sweep as often (seconds): a sweep is work beside the launches being timed. */
const HEALTH_INTERVAL = '5';

interface SlotInfo {
  name: string;
  type: string;
  state: string;
  node?: string;
  containerId: string | null;
  assignment: { id: number } | null;
}

const slotsOf = async (deck: BenchDeck) => (await deck.send<{ slots: SlotInfo[] }>('slots')).slots;

async function allAvailable(deck: BenchDeck, type: string, n: number, timeoutMs = 120_000) {
  await until(`${n} ${type} available`, async () => (await slotsOf(deck)).filter((s) => s.type === type && s.state === 'available').length === n, timeoutMs, 100);
}

/** One round: PER_ROUND sequential launches (each timed), then every one released and the pool whole again. */
async function launchRound(deck: BenchDeck, user: Client, size: number, label: string, times: number[]) {
  const held: Launched[] = [];
  for (let i = 0; i < PER_ROUND; i++) {
    const t0 = now();
    const reply = await launch(user);
    times.push(now() - t0);
    if (reply.status !== 201 || !reply.container) throw new Error(`${label} launch ${i}: ${reply.status} ${JSON.stringify(reply.body)}`);
    held.push(reply.container);
  }
  await Promise.all(held.map((c) => user.del(`/api/containers/${c.id}`)));
  await allAvailable(deck, 'nginx', size);
}

/** Why the lab cannot be used, or null when every node runs and is Ready. */
async function labMissing(): Promise<string | null> {
  try {
    await run(LAB_SCRIPT, ['is-up'], { timeout: 60_000 });
    return null;
  } catch {
    return 'the Swarm lab is not up (start it with `make swarm-lab`; this section never starts it)';
  }
}

/** A single-host pool of PER_ROUND nginx beside the Swarm one, with the same health interval. */
async function singleHost(avoid: Array<[number, number]>): Promise<{ deck: BenchDeck; user: Client }> {
  const base = freePortBlock(PER_ROUND, avoid);
  const env = testEnv({ POOLDECK_POOL: `nginx=${PER_ROUND}`, POOLDECK_USER_LIMIT: '0', POOLDECK_PORTS_NGINX: `${base}-${base + PER_ROUND - 1}`, POOLDECK_HEALTH_INTERVAL: HEALTH_INTERVAL, POOLDECK_LOG_LEVEL: 'warn' });
  cleanups.push(async () => {
    await removePool(env.POOLDECK_POOL_NAME!);
    rmSync(env.POOLDECK_DATA!, { recursive: true, force: true });
  });
  log(`swarm section: single-host pool of ${PER_ROUND} nginx for the comparison (ports ${base}-${base + PER_ROUND - 1})`);
  const deck = await startBenchDeck(env);
  cleanups.push(() => deck.kill());
  return { deck, user: await newTokenUser(deck, 'bsh') };
}

/** The holder's nginx on `node` with a file of its own, served. */
async function holdOn(deck: BenchDeck, user: Client, node: string): Promise<{ c: Launched; page: string; others: Launched[] }> {
  const others: Launched[] = [];
  for (let i = 0; i < 20; i++) {
    const reply = await launch(user);
    if (!reply.container) throw new Error(`launch: ${reply.status} ${JSON.stringify(reply.body)}`);
    const slot = (await slotsOf(deck)).find((s) => s.name === reply.container!.name);
    if (slot?.node !== node) {
      others.push(reply.container);
      continue;
    }
    const page = `<p>bench file ${Date.now()}</p>`;
    const up = await user.post(`/api/containers/${reply.container.id}/files`, form({ 'bench.html': page }));
    if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
    await until('uploaded file served', async () => (await rawGet(reply.container!.host_port, '/bench.html')).body === page, 5000, 20);
    return { c: reply.container, page, others };
  }
  throw new Error(`no launch landed on ${node}`);
}

async function killRecovery(deck: BenchDeck, lab: SwarmLab, user: Client) {
  log(`swarm section: docker kill of an assigned task container on swarmlab-node2 through its engine, ${KILLS} times`);
  const { c, page, others } = await holdOn(deck, user, 'swarmlab-node2');
  const serving: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const slot = (await slotsOf(deck)).find((s) => s.name === c.name)!;
    const t0 = now();
    await lab.node(2).docker.getContainer(slot.containerId!).kill();
    await until('served again', async () => {
      const res = await rawGet(c.host_port, '/bench.html', 500);
      const current = (await slotsOf(deck)).find((s) => s.name === c.name);
      return res.status === 200 && res.body === page && current?.containerId !== slot.containerId;
    }, 30_000, 20);
    serving.push(now() - t0);
    await until('assigned again', async () => (await slotsOf(deck)).find((s) => s.name === c.name)?.state === 'assigned', 10_000, 20);
  }
  results.swarm.kill = { servingAgainMs: stats(serving) };
  await Promise.all([c, ...others].map((x) => user.del(`/api/containers/${x.id}`)));
}

async function nodeLoss(deck: BenchDeck, lab: SwarmLab, user: Client) {
  log('swarm section: docker stop swarmlab-node2 with an assignment on it → the moved assignment serving its file on node 1');
  const { c, page, others } = await holdOn(deck, user, 'swarmlab-node2');
  cleanups.push(() => startNode(2));
  const t0 = now();
  await stopNode(2);
  let downMs = 0;
  void waitNodeState(lab, 2, 'down', 120_000).then(() => (downMs = now() - t0), () => undefined);
  const moved = await until('moved and serving', async () => {
    const view = (await user.get(`/api/containers/${c.id}`)).body?.container as (Launched & { url?: string }) | undefined;
    if (!view || view.name === c.name) return null;
    const res = await rawGet(view.host_port, '/bench.html', 500);
    return res.status === 200 && res.body === page ? view : null;
  }, 90_000, 100);
  const movedMs = now() - t0;
  await until('down noticed', async () => downMs > 0, 30_000, 50);
  results.swarm.nodeLoss = { movedServingMs: Math.round(movedMs), markedDownMs: Math.round(downMs), to: (await slotsOf(deck)).find((s) => s.name === moved.name)?.node };
  log(`  node down after ${Math.round(downMs)} ms, moved page serving after ${Math.round(movedMs)} ms`);
  await startNode(2);
  await waitNodeState(lab, 2, 'ready');
  await Promise.all([{ id: c.id }, ...others].map((x) => user.del(`/api/containers/${x.id}`)));
}

export async function swarmSection(avoid: Array<[number, number]>) {
  const missing = await labMissing();
  if (missing) {
    results.swarm = { skipped: missing };
    log(`swarm section: SKIPPED — ${missing}`);
    return;
  }
  results.swarm = {};
  const lab = await readLab();
  const env = testEnv({ ...lab.env, POOLDECK_POOL: 'nginx=20,ssh=20', POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: HEALTH_INTERVAL, POOLDECK_LOG_LEVEL: 'warn' });
  cleanups.push(async () => {
    await startNode(2).catch(() => undefined);
    await removeSwarmPool(lab, env.POOLDECK_POOL_NAME!);
    rmSync(env.POOLDECK_DATA!, { recursive: true, force: true });
  });
  log('swarm section: pool nginx=20,ssh=20 on the 2-node lab from nothing');
  const t0 = now();
  const deck = await startBenchDeck(env);
  const bootMs = now() - t0;
  cleanups.push(() => deck.kill());
  const slots = await slotsOf(deck);
  results.swarm.boot = { slots: slots.length, perNode: Object.fromEntries(lab.nodes.map((n) => [n.name, slots.filter((s) => s.node === n.name).length])), seconds: Math.round(bootMs / 100) / 10, serverBootMs: deck.bootMs === undefined ? null : Math.round(deck.bootMs) };
  log(`  ${slots.length} slots available after ${results.swarm.boot.seconds} s (process start to ready)`);

  const one = await singleHost(avoid);
  const user = await newTokenUser(deck, 'bsw');
  const swarm: number[] = [];
  const single: number[] = [];
  log(`swarm section: ${ROUNDS} rounds × ${PER_ROUND} launches on each pool, alternating`);
  for (let r = 0; r < ROUNDS; r++) {
    await launchRound(one.deck, one.user, PER_ROUND, 'single host', single);
    await launchRound(deck, user, 20, 'swarm', swarm);
  }
  await one.deck.stop();
  results.swarm.launch = { swarm: stats(swarm), singleHost: stats(single), rounds: ROUNDS, perRound: PER_ROUND };
  results.swarm.launch.ratio = Math.round((results.swarm.launch.swarm.p50 / results.swarm.launch.singleHost.p50) * 100) / 100;
  log(`  launch p50 ${results.swarm.launch.swarm.p50} ms on the Swarm vs ${results.swarm.launch.singleHost.p50} ms on one host (${results.swarm.launch.ratio}×)`);

  await killRecovery(deck, lab, user);
  await nodeLoss(deck, lab, user);
  await deck.stop();
}
