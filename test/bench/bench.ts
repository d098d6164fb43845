/**
 * `make bench` (`npm run bench`): Pooldeck measured on this machine, in one run. Prints every
 * figure with its goal and whether it was met, and writes test-results/bench.json and bench.md.
 *
 * The servers run in child processes (test/bench/deck-process.ts), compiled like the production
 * server and started with its flags (test/bench/deck.ts), so that their memory is measured alone
 * and this load generator does not share their event loop. Real HTTP with API tokens, the real
 * dockerd (or the recording fake engine where said), SQLite on disk, 127.0.0.1, own port blocks.
 *
 *   1. the HTTP floor: GET /api/me vs. launch, fresh connections and keep-alive (floor.ts)
 *   2. the warm pool: launch, launch → first 200, stop + rm + run, kill → recovery, storm (warm-pool.ts)
 *   3. churn: 20 clients × launch → upload → GET → release on 10 slots (floor.ts)
 *   4. the default pool's RSS, `pooldeck --help` (big-pool.ts, here)
 *   5. 1,000 slots on the fake engine: sweep, RSS, launch under 200 clients, events/s (big-pool.ts)
 *   6. 200 slots on the real engine: boot time per creation parallelism, sweep, Docker calls, RSS
 *   7. the Swarm lab, when it is up (skipped with a sentence otherwise): 2 × 20 slots from nothing, launch on
 *      the Swarm vs one host, docker kill → serving again, node stopped → moved assignment serving (swarm.ts)
 *
 * Knobs: BENCH_QUICK=1 (shorter everything, ~6 min), BENCH_ROUNDS, BENCH_BASELINE, BENCH_FLOOR_BATCHES,
 * BENCH_CHURN_SECONDS, BENCH_FAKE (1000; 0 skips), BENCH_FAKE_SECONDS, BENCH_BIG (200; 0 skips),
 * BENCH_PARALLELISM (4,8,16,200), BENCH_SWARM_ROUNDS, BENCH_ONLY (comma-separated part names: floor,warm,churn,default,cli,fake,big,swarm).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { DEFAULT_TYPES } from '../../runtime/config.ts';
import { newTokenUser, type Client } from '../integration/client.ts';
import { removePool, testEnv } from '../support/server.ts';
import { bootCurve, defaultPool, fakeThousand } from './big-pool.ts';
import { buildBench, startBenchDeck } from './deck.ts';
import { churn, floor } from './floor.ts';
import { swarmSection } from './swarm.ts';
import { report } from './report.ts';
import { cleanups, freePortBlock, load, log, machine, mb, now, results, round, sampleLoad } from './util.ts';
import { baseline, killRecovery, POOL, storm, tokenAdmin, warmPool } from './warm-pool.ts';

const root = path.resolve(import.meta.dirname, '../..');
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const part = (name: string) => !only || only.has(name);

/** `pooldeck --help` through the compiled CLI: hyperfine when installed, else a loop of 30. */
function cliHelp() {
  const cli = path.join(root, 'build', 'bench', 'cli.js');
  const hyperfine = spawnSync('hyperfine', ['--version']).status === 0;
  const time = (args: string[]) => {
    if (hyperfine) {
      const out = path.join(root, 'test-results', `hyperfine-${process.pid}.json`);
      execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', '30', '--export-json', out, [process.execPath, ...args].join(' ')], { stdio: 'ignore' });
      const mean = (JSON.parse(execFileSync('cat', [out], { encoding: 'utf8' })) as { results: Array<{ mean: number }> }).results[0]!.mean;
      rmSync(out, { force: true });
      return round(mean * 1000, 1);
    }
    const runs: number[] = [];
    for (let i = 0; i < 33; i++) {
      const t0 = now();
      execFileSync(process.execPath, args, { stdio: 'ignore' });
      if (i >= 3) runs.push(now() - t0);
    }
    return round(runs.reduce((a, b) => a + b, 0) / runs.length, 1);
  };
  results.cliHelp = { how: hyperfine ? 'hyperfine, 30 runs' : 'mean of 30 runs', meanMs: time([cli, '--help']), nodeMs: time(['-e', '0']) };
  log(`pooldeck --help: ${results.cliHelp.meanMs} ms (node -e 0: ${results.cliHelp.nodeMs} ms)`);
}

async function main() {
  const info = machine();
  sampleLoad();
  log(`${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB, ${info.kernel}, Docker ${info.docker}`);
  try {
    await new Docker().getImage(DEFAULT_TYPES.nginx!.image).inspect();
  } catch {
    throw new Error(`image ${DEFAULT_TYPES.nginx!.image} is missing: run "make images" first`);
  }
  log(`compiled the server and the bench's server process into build/bench/ in ${await buildBench()} ms`);
  const base = freePortBlock(POOL + 10);
  const churnBase = freePortBlock(20, [[base, base + POOL + 10]]);
  const avoid: Array<[number, number]> = [[base, base + POOL + 10], [churnBase, churnBase + 20]];

  if (part('floor') || part('warm')) {
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
    if (part('floor')) await floor(deck, users[0]!);
    if (part('warm')) {
      await warmPool(deck, users, await tokenAdmin(deck.url, env.POOLDECK_ADMIN_PASSWORD!));
      await baseline(env, base + POOL + 5);
      await killRecovery(deck, users[0]!);
      await storm(deck, users);
    }
    results.rss25 = { rssMB: mb((await deck.send<{ rss: number }>('rss')).rss) };
    await deck.stop();
  }
  if (part('churn')) await churn(churnBase);
  if (part('default')) await defaultPool(avoid);
  if (part('cli')) cliHelp();
  if (part('fake')) await fakeThousand();
  if (part('big')) await bootCurve(avoid);
  if (part('swarm')) await swarmSection(avoid);
  clearInterval(load.timer!);
  results.loadAverage = { start: round(load.samples[0]!, 2), max: round(Math.max(...load.samples), 2), mean: round(load.samples.reduce((a, b) => a + b, 0) / load.samples.length, 2), cores: info.cores };
  return report(root, info);
}

async function runCleanups() {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((e) => console.error(`[bench] cleanup: ${e}`));
}
// Interrupted (Ctrl-C, timeout): still remove the pools' containers and data.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`[bench] ${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(2));
  });
}

let code = 0;
const started = now();
try {
  code = (await main()) ? 0 : 1;
} catch (error) {
  console.error(`[bench] failed: ${(error as Error).stack ?? error}`);
  code = 2;
} finally {
  await runCleanups();
  log(`took ${Math.round((now() - started) / 1000)} s`);
}
process.exit(code);
