/**
 * Big pools in one server process.
 *
 * bootCurve: a 200-slot nginx pool on the real engine started from nothing once per creation
 * parallelism (POOLDECK_CREATE_PARALLELISM), containers removed in between; the last boot stays
 * up for 20 health sweeps (time, Docker calls) and the server's RSS.
 *
 * fakeThousand: a 1,000-slot pool on the recording fake engine with a real SQLite store: boot,
 * 20 sweeps (control-plane time: the fake's list is free), RSS, then 200 in-process clients
 * looping launch → hold → release (test/bench/load.ts) for the launch p99 and events/s.
 *
 * defaultPool: the default pool of 15 (five types) on the real engine, for the RSS goal.
 */
import { rmSync } from 'node:fs';
import Docker from 'dockerode';
import { DEFAULT_SIZES } from '../../runtime/config.ts';
import { removePool, testEnv } from '../support/server.ts';
import { startBenchDeck, type BenchDeck } from './deck.ts';
import { cleanups, freePortBlock, log, mb, now, QUICK, results, round, sleep, stats } from './util.ts';

const BIG = Number(process.env.BENCH_BIG ?? 200);
const PARALLELISM = (process.env.BENCH_PARALLELISM ?? (QUICK ? '8' : '4,8,16,200')).split(',').map(Number).filter((n) => n > 0);
const FAKE = Number(process.env.BENCH_FAKE ?? 1000);
const docker = new Docker();

interface Memory {
  rss: number;
  rssAfterGc: number;
  heapUsed: number;
  anonymous?: number;
  fileBacked?: number;
}

async function memory(deck: BenchDeck) {
  const m = await deck.send<Memory>('rss');
  return { rssMB: mb(m.rss), rssAfterGcMB: mb(m.rssAfterGc), heapUsedMB: mb(m.heapUsed), anonymousMB: m.anonymous ? mb(m.anonymous) : null, fileBackedMB: m.fileBacked ? mb(m.fileBacked) : null };
}

async function sweeps(deck: BenchDeck, n = 20) {
  const list: Array<{ durationMs: number; wallMs: number; dockerCalls: number; containers: number; findings: number }> = [];
  for (let i = 0; i < n; i++) list.push(await deck.send('sweep'));
  return {
    durationMs: stats(list.map((s) => s.durationMs)),
    wallMs: stats(list.map((s) => s.wallMs)),
    dockerCallsPerSweep: Math.max(...list.map((s) => s.dockerCalls)),
    containersSeen: list.at(-1)!.containers,
    findings: list.reduce((k, s) => k + s.findings, 0),
  };
}

export async function bootCurve(avoid: Array<[number, number]>) {
  if (BIG <= 0 || PARALLELISM.length === 0) return;
  const base = freePortBlock(BIG, avoid);
  const curve: Array<{ parallelism: number; seconds: number }> = [];
  for (const [i, parallelism] of PARALLELISM.entries()) {
    const last = i === PARALLELISM.length - 1;
    const env = testEnv({ POOLDECK_POOL: `nginx=${BIG}`, POOLDECK_PORTS_NGINX: `${base}-${base + BIG - 1}`, POOLDECK_HEALTH_INTERVAL: '3600', POOLDECK_LOG_LEVEL: 'warn', POOLDECK_CREATE_PARALLELISM: String(parallelism) });
    const poolName = env.POOLDECK_POOL_NAME;
    const remove = async () => {
      await removePool(poolName);
      rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
    };
    cleanups.push(remove);
    log(`pool of ${BIG} from nothing, ${parallelism} creations at once, ports ${base}-${base + BIG - 1}`);
    const started = now();
    const progress = setInterval(async () => {
      const list = await docker.listContainers({ all: true, filters: { label: [`pooldeck.pool=${poolName}`] } }).catch(() => []);
      log(`  ${Math.round((now() - started) / 1000)} s: ${list.filter((c) => c.State === 'running').length}/${BIG} running`);
    }, 15_000);
    let deck: BenchDeck;
    try {
      deck = await startBenchDeck(env);
    } finally {
      clearInterval(progress);
    }
    const seconds = round((now() - started) / 1000, 1);
    curve.push({ parallelism, seconds });
    log(`  ready in ${seconds} s`);
    if (last) {
      await sleep(2000);
      const idle = await memory(deck);
      const swept = await sweeps(deck);
      const after = await memory(deck);
      results.bigPool = { size: BIG, parallelism, startSeconds: seconds, ...swept, memory: { ...idle, rssMB: Math.max(idle.rssMB, after.rssMB) } };
    }
    await deck.stop();
    await remove();
  }
  const best = curve.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  results.bootCurve = { size: BIG, curve, best: best.parallelism };
}

export async function fakeThousand() {
  if (FAKE <= 0) return;
  const clients = 200;
  const seconds = Number(process.env.BENCH_FAKE_SECONDS ?? (QUICK ? 10 : 30));
  log(`pool of ${FAKE} on the recording fake engine and SQLite: boot, 20 sweeps, RSS, ${clients} launch/release clients for ${seconds} s`);
  const env = testEnv({ POOLDECK_POOL: `nginx=${FAKE}`, POOLDECK_PORTS_NGINX: `40000-${40000 + FAKE - 1}`, POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: '3600', POOLDECK_LOG_LEVEL: 'warn', BENCH_ENGINE: 'fake' });
  cleanups.push(async () => rmSync(env.POOLDECK_DATA, { recursive: true, force: true }));
  const started = now();
  const deck = await startBenchDeck(env);
  cleanups.push(() => deck.kill());
  const bootSeconds = round((now() - started) / 1000, 1);
  await sleep(1000);
  const idle = await memory(deck);
  const swept = await sweeps(deck);
  const load = await deck.send<Record<string, unknown>>('load', { clients, seconds, holdMs: 100 });
  const after = await memory(deck);
  results.fake = { size: FAKE, bootSeconds, ...swept, memory: idle, memoryAfterLoad: after, load };
  log(`  sweep p50 ${swept.wallMs.p50} ms; launch ${JSON.stringify((load as { launch: unknown }).launch)}`);
  await deck.stop();
}

export async function defaultPool(avoid: Array<[number, number]>) {
  log(`the default pool (${DEFAULT_SIZES}): server RSS`);
  const base = freePortBlock(100, avoid);
  const ports = Object.fromEntries(['nginx', 'apache', 'python', 'node', 'ssh'].map((t, i) => [`POOLDECK_PORTS_${t.toUpperCase()}`, `${base + i * 20}-${base + i * 20 + 19}`]));
  const env = testEnv({ POOLDECK_POOL: DEFAULT_SIZES, POOLDECK_LOG_LEVEL: 'warn', ...ports });
  const remove = async () => {
    await removePool(env.POOLDECK_POOL_NAME);
    rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
  };
  cleanups.push(remove);
  const deck = await startBenchDeck(env);
  await sleep(5000);
  results.defaultPool = { slots: 15, memory: await memory(deck) };
  await deck.stop();
  await remove();
}
