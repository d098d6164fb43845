/**
 * `npm run bench`: Pooldeck measured on this machine, in one run, against the original design.
 * Prints a table and writes test-results/bench.json and test-results/bench.md.
 *
 * The server runs in a child process (test/bench/deck-process.ts) so that its memory is measured
 * alone and this load generator does not share its event loop. Everything goes through the real
 * HTTP API with API tokens, over the real dockerd, on 127.0.0.1 and port blocks of its own.
 *
 *   1. warm-pool launch latency (HTTP, p50/p99, ≥ 200 launches) vs. docker stop + rm + run
 *   2. launch → first HTTP 200 from the container
 *   3. docker kill of an assigned container → slot failed → serving the user's file again
 *   4. 500 concurrent launches on 15 free containers: time to settle, double assignments
 *   5. socket.io: state change → event at a client
 *   6. a pool of 200: one health sweep (time, Docker calls), control-plane RSS
 *
 * Knobs: BENCH_ROUNDS (default 10 rounds of 25 launches), BENCH_BASELINE (25), BENCH_BIG (200; 0 skips).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { io, type Socket } from 'socket.io-client';
import { DEFAULT_TYPES, loadConfig } from '../../runtime/config.ts';
import { DockerodeEngine } from '../../runtime/docker/dockerode-engine.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { runSpec } from '../../runtime/pool/pool-actors.ts';
import { SlotFiles } from '../../runtime/pool/slot-files.ts';
import type { AdminSlot, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.ts';
import { Client, form, newTokenUser } from '../integration/client.ts';
import { removePool, testEnv } from '../support/server.ts';
import { startBenchDeck, type BenchDeck, type SlotEvent } from './deck.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const POOL = 25;
const BASELINE_RUNS = Number(process.env.BENCH_BASELINE ?? 25);
const BIG = Number(process.env.BENCH_BIG ?? 200);
const KILLS = 5;
const STORM = 500;
const root = path.resolve(import.meta.dirname, '../..');
const docker = new Docker();

// ---- small helpers ----

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stats(values: number[]) {
  return { n: values.length, p50: round(percentile(values, 50), 2), p99: round(percentile(values, 99), 2), min: round(Math.min(...values), 2), max: round(Math.max(...values), 2) };
}

/** GET on a fresh connection (no keep-alive), so a recreated container is never hit through a stale socket. */
function rawGet(port: number, urlPath = '/', timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A block of `size` host ports that nothing listens on, outside the test suites' 20000-59999 and the ephemeral range. */
function freePortBlock(size: number, avoid: Array<[number, number]> = []): number {
  const listening = new Set(
    execFileSync('ss', ['-Htln'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(/:(\d+)\s/.exec(l.split(/\s+/)[3] + ' ')?.[1]))
      .filter(Boolean),
  );
  const [low, high] = execFileSync('cat', ['/proc/sys/net/ipv4/ip_local_port_range'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  const forbidden: Array<[number, number]> = [[0, 1023], [20000, 59999], [low, high], ...avoid];
  const candidates = [...Array.from({ length: 450 }, (_, i) => 61000 + i * 10), ...Array.from({ length: 900 }, (_, i) => 10000 + i * 10)];
  for (const base of candidates) {
    const end = base + size - 1;
    if (end > 65535) continue;
    if (forbidden.some(([a, b]) => base <= b && end >= a)) continue;
    let free = true;
    for (let p = base; p <= end && free; p++) free = !listening.has(p);
    if (free) return base;
  }
  throw new Error(`no free block of ${size} ports`);
}

function machine() {
  const cpus = os.cpus();
  let dockerVersion = '?';
  try {
    dockerVersion = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported as ? */
  }
  return {
    cpu: cpus[0]?.model.trim() ?? '?',
    cores: cpus.length,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    docker: dockerVersion,
    node: process.version,
    at: new Date().toISOString(),
  };
}

async function tokenAdmin(url: string, password: string): Promise<string> {
  const admin = new Client(url, 'admin');
  const login = await admin.post('/api/auth/login', { username: 'admin', password });
  if (login.status !== 200) throw new Error(`admin login: ${login.status} ${JSON.stringify(login.body)}`);
  const created = await admin.post('/api/tokens', { name: 'bench' });
  if (created.status !== 201) throw new Error(`admin token: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.token;
}

interface Launched {
  id: number;
  name: string;
  host_port: number;
}

async function launch(user: Client): Promise<{ status: number; container?: Launched; body: unknown }> {
  const reply = await user.post('/api/containers', { type: 'nginx' });
  return { status: reply.status, container: reply.body?.container, body: reply.body };
}

async function waitAvailable(user: Client, n: number, timeoutMs = 120_000) {
  await until(`${n} available`, async () => (await user.get('/api/pool')).body?.pool?.nginx?.available === n, timeoutMs, 100);
}

// ---- the measurements ----

const results: Record<string, unknown> = {};
const cleanups: Array<() => Promise<unknown>> = [];

async function warmPool(deck: BenchDeck, users: Client[], adminToken: string) {
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
  log(`1/5 warm pool: ${ROUNDS} rounds × ${POOL} launches through POST /api/containers, each followed by GET on the container`);
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

async function baseline(env: Record<string, string>, port: number) {
  log(`2/5 original design: docker stop + rm + run of an nginx container, ${BASELINE_RUNS} times`);
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

async function killRecovery(deck: BenchDeck, user: Client) {
  log(`3/5 docker kill of an assigned container with an uploaded file, ${KILLS} times`);
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

async function storm(deck: BenchDeck, users: Client[]) {
  log(`4/5 ${STORM} concurrent launches on 15 free containers (10 of ${POOL} held)`);
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

async function bigPool(env: Record<string, string>) {
  if (BIG <= 0) return;
  const base = freePortBlock(BIG, [[Number(env.POOLDECK_PORTS_NGINX.split('-')[0]), Number(env.POOLDECK_PORTS_NGINX.split('-')[1]) + 10]]);
  const bigEnv = testEnv({ POOLDECK_POOL: `nginx=${BIG}`, POOLDECK_PORTS_NGINX: `${base}-${base + BIG - 1}`, POOLDECK_HEALTH_INTERVAL: '3600', POOLDECK_LOG_LEVEL: 'warn' });
  const poolName = bigEnv.POOLDECK_POOL_NAME;
  cleanups.push(async () => {
    log(`  removing the ${BIG} containers of ${poolName}`);
    await removePool(poolName);
    rmSync(bigEnv.POOLDECK_DATA, { recursive: true, force: true });
  });
  log(`5/5 a pool of ${BIG} nginx containers on ports ${base}-${base + BIG - 1} (creating them takes a few minutes)`);
  const started = now();
  const progress = setInterval(async () => {
    const list = await docker.listContainers({ all: true, filters: { label: [`pooldeck.pool=${poolName}`] } }).catch(() => []);
    log(`  ${Math.round((now() - started) / 1000)} s: ${list.filter((c) => c.State === 'running').length}/${BIG} containers running`);
  }, 10_000);
  let deck: BenchDeck;
  try {
    deck = await startBenchDeck(bigEnv);
  } finally {
    clearInterval(progress);
  }
  cleanups.push(() => deck.stop());
  const startMs = now() - started;
  log(`  pool of ${BIG} ready in ${Math.round(startMs / 1000)} s`);
  await sleep(2000);
  const idle = await deck.send<{ rss: number; rssAfterGc: number; heapUsed: number }>('rss');
  const sweeps: Array<{ durationMs: number; dockerCalls: number; containers: number; findings: unknown[] }> = [];
  for (let i = 0; i < 20; i++) sweeps.push(await deck.send('sweep'));
  const after = await deck.send<{ rss: number; rssAfterGc: number }>('rss');
  results.bigPool = {
    size: BIG,
    startSeconds: round(startMs / 1000, 1),
    sweepMs: stats(sweeps.map((s) => s.durationMs)),
    dockerCallsPerSweep: Math.max(...sweeps.map((s) => s.dockerCalls)),
    containersSeen: sweeps.at(-1)!.containers,
    findings: sweeps.reduce((n, s) => n + s.findings.length, 0),
    rssMB: round(Math.max(idle.rss, after.rss) / 2 ** 20, 1),
    rssAfterGcMB: round(after.rssAfterGc / 2 ** 20, 1),
    heapUsedMB: round(idle.heapUsed / 2 ** 20, 1),
  };
  await deck.stop();
}

// ---- report ----

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
}

function rows(): Row[] {
  const r = results as any;
  const out: Row[] = [];
  const add = (what: string, value: string, target = '', ok: boolean | null = null) => out.push({ what, value, target, ok });
  if (r.launch) {
    add(`launch via HTTP API, warm pool (n=${r.launch.n})`, `p50 ${r.launch.p50} ms, p99 ${r.launch.p99} ms`, 'p50 ≤ 20 ms, p99 ≤ 100 ms', r.launch.p50 <= 20 && r.launch.p99 <= 100);
    add('launch → first HTTP 200 from the container', `p50 ${r.launchToFirst200.p50} ms, p99 ${r.launchToFirst200.p99} ms`, 'p50 ≤ 50 ms', r.launchToFirst200.p50 <= 50);
  }
  if (r.baseline) {
    add(`original design: docker stop + rm + run (n=${r.baseline.stopRmRun.n})`, `p50 ${r.baseline.stopRmRun.p50} ms, p99 ${r.baseline.stopRmRun.p99} ms (stop ${r.baseline.stop.p50}, run ${r.baseline.run.p50})`);
    add('original design: stop → first HTTP 200', `p50 ${r.baseline.toFirst200.p50} ms`);
  }
  if (r.launch && r.baseline) {
    const ratio = r.baseline.stopRmRun.p50 / r.launch.p50;
    const ratio200 = r.baseline.toFirst200.p50 / r.launchToFirst200.p50;
    r.speedup = { launch: round(ratio, 1), toFirst200: round(ratio200, 1), p99: round(r.baseline.stopRmRun.p99 / r.launch.p99, 1) };
    add('speed-up of a launch (p50 / p50)', `${round(ratio, 1)}× (to first 200: ${round(ratio200, 1)}×; p99/p99: ${r.speedup.p99}×)`, '≥ 25×', ratio >= 25);
  }
  if (r.kill) {
    add(`docker kill → slot failed (n=${r.kill.detectedMs.n})`, `p50 ${r.kill.detectedMs.p50} ms, max ${r.kill.detectedMs.max} ms`, '≤ 1 s', r.kill.detectedMs.max <= 1000);
    add('docker kill → serving the user\'s file again', `p50 ${r.kill.servingAgainMs.p50} ms, max ${r.kill.servingAgainMs.max} ms`, '≤ 3 s', r.kill.servingAgainMs.max <= 3000);
  }
  if (r.storm) {
    add(`${r.storm.launches} concurrent launches on ${r.storm.free} free`, `settled in ${r.storm.settleMs} ms; ${r.storm.granted} granted, ${JSON.stringify(r.storm.statuses)}`, '15 granted', r.storm.granted === 15);
    add('double assignments', String(r.storm.doubleAssignments), '0', r.storm.doubleAssignments === 0 && r.storm.everyGrantHeld);
  }
  if (r.socketio) {
    add(`socket.io: state change → event at a client (n=${r.socketio.n}, all changes)`, `p50 ${r.socketio.p50} ms, p99 ${r.socketio.p99} ms`);
    add(`socket.io: launch (slot assigned) → event at a client (n=${r.socketio.launches.n})`, `p50 ${r.socketio.launches.p50} ms, p99 ${r.socketio.launches.p99} ms`);
  }
  if (r.bigPool) {
    add(`pool of ${r.bigPool.size}: start from nothing`, `${r.bigPool.startSeconds} s`);
    add(`pool of ${r.bigPool.size}: one health sweep (n=${r.bigPool.sweepMs.n})`, `p50 ${r.bigPool.sweepMs.p50} ms, max ${r.bigPool.sweepMs.max} ms`, '≤ 200 ms', r.bigPool.sweepMs.max <= 200);
    add(`pool of ${r.bigPool.size}: Docker calls per sweep`, String(r.bigPool.dockerCallsPerSweep), '1', r.bigPool.dockerCallsPerSweep === 1);
    add(`pool of ${r.bigPool.size}: control-plane RSS`, `${r.bigPool.rssMB} MB (${r.bigPool.rssAfterGcMB} MB after GC)`, '≤ 150 MB', r.bigPool.rssMB <= 150);
  }
  if (r.rss25) add(`pool of ${POOL}: control-plane RSS after the run`, `${r.rss25.rssMB} MB`);
  if (r.loadAverage) add('machine load average (1 min) during the run', `mean ${r.loadAverage.mean}, max ${r.loadAverage.max} on ${r.loadAverage.cores} cores${r.loadAverage.max >= r.loadAverage.cores ? ' — busy: other work skewed these numbers' : ''}`);
  return out;
}

function report(info: ReturnType<typeof machine>) {
  const table = rows();
  const mark = (ok: boolean | null) => (ok === null ? '' : ok ? 'yes' : 'NO');
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((row) => [row.what, row.value, row.target][i].length), ['measure', 'result', 'target'][i].length));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 3)).join('  ');
  const machineLine = `${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB RAM, ${info.kernel}, Docker ${info.docker}, Node ${info.node}`;
  console.log(`\nPooldeck benchmark — ${info.at}\n${machineLine}\n`);
  console.log(line(['measure', 'result', 'target', 'met']));
  for (const row of table) console.log(line([row.what, row.value, row.target, mark(row.ok)]));
  mkdirSync(path.join(root, 'test-results'), { recursive: true });
  writeFileSync(path.join(root, 'test-results', 'bench.json'), JSON.stringify({ machine: info, results, table }, null, 2) + '\n');
  const md = [
    `Machine: ${machineLine}. Run at ${info.at}.`,
    '',
    '| measure | result | target | met |',
    '| --- | --- | --- | --- |',
    ...table.map((row) => `| ${row.what} | ${row.value} | ${row.target} | ${mark(row.ok)} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'test-results', 'bench.md'), md);
  console.log('\nwritten: test-results/bench.json, test-results/bench.md');
  return table.every((row) => row.ok !== false);
}

/** The machine's 1-minute load average, sampled through the run: other work on the machine skews every number. */
const load = { samples: [] as number[], timer: null as NodeJS.Timeout | null };
function sampleLoad() {
  load.samples.push(os.loadavg()[0]);
  load.timer = setInterval(() => load.samples.push(os.loadavg()[0]), 5000);
  load.timer.unref();
}

async function main() {
  const info = machine();
  sampleLoad();
  log(`${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB, ${info.kernel}, Docker ${info.docker}`);
  const image = DEFAULT_TYPES.nginx.image;
  try {
    await docker.getImage(image).inspect();
  } catch {
    throw new Error(`image ${image} is missing: run "make images" first`);
  }
  const base = freePortBlock(POOL + 10);
  const env = testEnv({ POOLDECK_POOL: `nginx=${POOL}`, POOLDECK_USER_LIMIT: '0', POOLDECK_PORTS_NGINX: `${base}-${base + POOL - 1}`, POOLDECK_HEALTH_INTERVAL: '30', POOLDECK_LOG_LEVEL: 'warn' });
  cleanups.push(async () => {
    await removePool(env.POOLDECK_POOL_NAME);
    rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
  });
  log(`starting a ${POOL}-slot nginx pool on ports ${base}-${base + POOL - 1} in a child process`);
  const deck = await startBenchDeck(env);
  cleanups.push(() => deck.kill());
  const users: Client[] = [];
  for (let i = 0; i < 10; i++) users.push(await newTokenUser(deck, 'bench'));
  const adminToken = await tokenAdmin(deck.url, env.POOLDECK_ADMIN_PASSWORD);
  await warmPool(deck, users, adminToken);
  await baseline(env, base + POOL + 5);
  await killRecovery(deck, users[0]);
  await storm(deck, users);
  const rss25 = await deck.send<{ rss: number }>('rss');
  results.rss25 = { rssMB: round(rss25.rss / 2 ** 20, 1) };
  await deck.stop();
  await bigPool(env);
  clearInterval(load.timer!);
  results.loadAverage = { start: round(load.samples[0], 2), max: round(Math.max(...load.samples), 2), mean: round(load.samples.reduce((a, b) => a + b, 0) / load.samples.length, 2), cores: info.cores };
  return report(info);
}

let code = 0;
try {
  code = (await main()) ? 0 : 1;
} catch (error) {
  console.error(`[bench] failed: ${(error as Error).stack ?? error}`);
  code = 2;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((e) => console.error(`[bench] cleanup: ${e}`));
}
process.exit(code);
