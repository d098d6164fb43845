/**
 * The warm pool on the real engine (a 25-slot nginx pool in a child process): launch latency and
 * launch → first 200, the original design's stop + rm + run, docker kill → recovery, and 500
 * concurrent launches on 15 free containers (double assignments).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { io, type Socket } from 'socket.io-client';
import { loadConfig } from '../../runtime/config.ts';
import { DockerodeEngine } from '../../runtime/docker/dockerode-engine.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { runSpec } from '../../runtime/pool/pool-actors.ts';
import { SlotFiles } from '../../runtime/pool/slot-files.ts';
import type { AdminSlot, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.ts';
import { Client, form } from '../integration/client.ts';
import { removePool } from '../support/server.ts';
import type { BenchDeck, SlotEvent } from './deck.ts';
import { cleanups, log, now, percentile, rawGet, results, round, sleep, stats, until } from './util.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (process.env.BENCH_QUICK === '1' ? 3 : 10));
export const POOL = 25;
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE ?? (process.env.BENCH_QUICK === '1' ? 8 : 25));
const KILLS = 5;
const STORM = 500;
const docker = new Docker();

export async function tokenAdmin(url: string, password: string): Promise<string> {
  const admin = new Client(url, 'admin');
  const login = await admin.post('/api/auth/login', { username: 'admin', password });
  if (login.status !== 200) throw new Error(`admin login: ${login.status} ${JSON.stringify(login.body)}`);
  const created = await admin.post('/api/tokens', { name: 'bench' });
  if (created.status !== 201) throw new Error(`admin token: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.token;
}

export interface Launched {
  id: number;
  name: string;
  host_port: number;
}

export async function launch(user: Client): Promise<{ status: number; container?: Launched; body: unknown }> {
  const reply = await user.post('/api/containers', { type: 'nginx' });
  return { status: reply.status, container: reply.body?.container, body: reply.body };
}

export async function waitAvailable(user: Client, n: number, timeoutMs = 120_000) {
  await until(`${n} available`, async () => (await user.get('/api/pool')).body?.pool?.nginx?.available === n, timeoutMs, 100);
}


export async function warmPool(deck: BenchDeck, users: Client[], adminToken: string) {
  // socket.io: every state change the admin hears about, timed from the runtime's own timestamp.
  const socketLag: number[] = [];
  const socketLagAssigned: number[] = [];
  const admin: Socket<ServerToClientEvents, ClientToServerEvents> = io(deck.url, { auth: { token: adminToken }, transports: ['websocket'], reconnection: false });
  cleanups.push(async () => admin.close());
  await new Promise<void>((resolve, reject) => {
    admin.once('connect', resolve);
    admin.once('connect_error', reject);
  });
  admin.on('slot:updated', (slot: AdminSlot) => {
    if (!slot.since) return;
    const lag = Date.now() - Date.parse(slot.since);
    socketLag.push(lag);
    if (slot.state === 'assigned') socketLagAssigned.push(lag);
  });

  const launchMs: number[] = [];
  const firstOkMs: number[] = [];
  log(`warm pool: ${ROUNDS} rounds × ${POOL} launches through POST /api/containers, each followed by GET on the container`);
  for (let r = 0; r < ROUNDS; r++) {
    const held: Array<{ user: Client; c: Launched }> = [];
    for (let i = 0; i < POOL; i++) {
      const user = users[i % users.length];
      const t0 = now();
      const reply = await launch(user);
      const t1 = now();
      if (reply.status !== 201 || !reply.container) throw new Error(`launch ${r}/${i}: ${reply.status} ${JSON.stringify(reply.body)}`);
      for (;;) {
        if ((await rawGet(reply.container.host_port)).status === 200) break;
        await sleep(1);
      }
      launchMs.push(t1 - t0);
      firstOkMs.push(now() - t0);
      held.push({ user, c: reply.container });
    }
    const t = now();
    await Promise.all(held.map(({ user, c }) => user.del(`/api/containers/${c.id}`)));
    await waitAvailable(users[0], POOL);
    log(`  round ${r + 1}/${ROUNDS}: launch p50 ${round(percentile(launchMs.slice(-POOL), 50), 2)} ms; released and rebuilt ${POOL} in ${Math.round(now() - t)} ms`);
  }
  results.launch = stats(launchMs);
  results.launchToFirst200 = stats(firstOkMs);
  results.socketio = { ...stats(socketLag), launches: stats(socketLagAssigned) };
  admin.close();
}

export async function baseline(env: Record<string, string>, port: number) {
  log(`original design: docker stop + rm + run of an nginx container, ${BASELINE_RUNS} times`);
  const config = loadConfig({ ...env, POOLDECK_POOL: "nginx=1", POOLDECK_PORTS_NGINX: `${port}-${port}` });
  const poolName = `${config.poolName}-baseline`;
  const engine = new DockerodeEngine(poolName, silentLogger);
  await engine.ensureNetwork();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-baseline-'));
  cleanups.push(async () => {
    await removePool(poolName);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const files = new SlotFiles(dataDir);
  const slot = { name: `baseline_nginx_0_${port}`, type: 'nginx', index: 0, hostPort: port };
  await files.reset(slot.name, slot.type, slot.hostPort);
  const spec = runSpec(config, files, slot);
  let id = await engine.run(spec);
  await until('baseline container', async () => (await rawGet(port)).status === 200, 30_000);
  const cycle: number[] = [];
  const stopMs: number[] = [];
  const runMs: number[] = [];
  const toFirst200: number[] = [];
  for (let i = 0; i < BASELINE_RUNS; i++) {
    const t0 = now();
    await docker.getContainer(id).stop();
    const t1 = now();
    await engine.remove(id);
    const t2 = now();
    id = await engine.run(spec);
    const t3 = now();
    for (;;) {
      if ((await rawGet(port)).status === 200) break;
      await sleep(1);
    }
    cycle.push(t3 - t0);
    stopMs.push(t1 - t0);
    runMs.push(t3 - t2);
    toFirst200.push(now() - t0);
  }
  results.baseline = { stopRmRun: stats(cycle), stop: stats(stopMs), run: stats(runMs), toFirst200: stats(toFirst200) };
}

export async function killRecovery(deck: BenchDeck, user: Client) {
  log(`docker kill of an assigned container with an uploaded file, ${KILLS} times`);
  const reply = await launch(user);
  if (!reply.container) throw new Error(`launch: ${reply.status}`);
  const c = reply.container;
  const page = `<p>bench file of ${user.name} ${Date.now()}</p>`;
  const up = await user.post(`/api/containers/${c.id}/files`, form({ 'bench.html': page }));
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
  await until('uploaded file served', async () => (await rawGet(c.host_port, '/bench.html')).body === page, 5000);
  await deck.send('subscribe');
  const detected: number[] = [];
  const serving: number[] = [];
  const recoveryMs: number[] = [];
  const offRecovery = deck.onEvent((e) => {
    if (e.event === 'recovery' && e.name === c.name) recoveryMs.push(e.durationMs);
  });
  for (let k = 0; k < KILLS; k++) {
    let failedAt = 0;
    const off = deck.onEvent((e) => {
      if (e.event === 'slot' && (e as SlotEvent).name === c.name && (e as SlotEvent).state === 'failed' && !failedAt) failedAt = e.at;
    });
    const t0 = Date.now();
    await docker.getContainer(c.name).kill();
    await until('served again', async () => {
      const res = await rawGet(c.host_port, '/bench.html', 500);
      return res.status === 200 && res.body === page && failedAt > 0;
    }, 15_000, 2);
    serving.push(Date.now() - t0);
    detected.push(failedAt - t0);
    off();
    await until('recovered', async () => recoveryMs.length > k, 5000, 10);
    await sleep(300);
  }
  offRecovery();
  results.kill = { detectedMs: stats(detected), servingAgainMs: stats(serving), recoveryMs: stats(recoveryMs) };
  await user.del(`/api/containers/${c.id}`);
}

export async function storm(deck: BenchDeck, users: Client[]) {
  log(`${STORM} concurrent launches on 15 free containers (10 of ${POOL} held)`);
  await waitAvailable(users[0], POOL);
  const held: Array<Launched & { owner: Client }> = [];
  for (let i = 0; i < POOL - 15; i++) held.push({ ...(await launch(users[0])).container!, owner: users[0] });
  const t0 = now();
  const replies = await Promise.all(Array.from({ length: STORM }, async (_, i) => ({ ...(await launch(users[i % users.length])), owner: users[i % users.length] })));
  const settleMs = now() - t0;
  const won = replies.filter((r) => r.status === 201).map((r) => ({ ...r.container!, owner: r.owner }));
  const statuses: Record<string, number> = {};
  for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const ports = new Set([...held, ...won].map((c) => c.host_port));
  const check = await deck.send<{ doubles: unknown[]; active: number; held: number; unknown: unknown[] }>('doubles');
  const slots = (await deck.send<{ slots: Array<{ state: string; assignment: { id: number } | null }> }>('slots')).slots;
  const assignedIds = new Set(slots.filter((s) => s.assignment).map((s) => s.assignment!.id));
  const answered = [...held, ...won].map((c) => c.id);
  results.storm = {
    launches: STORM,
    free: 15,
    settleMs: round(settleMs, 1),
    statuses,
    granted: won.length,
    doubleAssignments: (won.length + held.length - ports.size) + check.doubles.length + check.unknown.length,
    activeAssignmentsInDb: check.active,
    everyGrantHeld: answered.every((id) => assignedIds.has(id)) && assignedIds.size === answered.length,
  };
  await Promise.all([...held, ...won].map((c) => c.owner.del(`/api/containers/${c.id}`)));
}

