/**
 * The benchmark's Pooldeck, in its own process so that its memory is measured alone and the
 * load generator does not share its event loop. Started with the env of a test config; prints
 * `{"ready":true,"port":N}` once the pool is up, then answers JSON commands on stdin, one per
 * line, each carrying an `id` that its answer repeats (commands run concurrently):
 *   {"id":1,"op":"rss"}        → {"id":1,"ok":true,"rss":…,"rssAfterGc":…,"heapUsed":…}
 *   {"id":2,"op":"sweep"}      → the SweepRecord of one health sweep run now
 *   {"id":3,"op":"subscribe"}  → from then on, unsolicited `{"event":"slot",name,state,phase,at}` lines
 *   {"id":4,"op":"slots"} | {"op":"doubles"} | {"op":"stop"}
 *   {"id":5,"op":"load","clients":200,"seconds":20,"holdMs":100} → in-process launch/release loops (see load.ts)
 *
 * BENCH_ENGINE=fake: the recording fake engine (test/fakes/fake-engine.ts) instead of dockerd,
 * with a real SQLite store; its containers serve nothing, so slots are not probed.
 */
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { startPooldeck } from '../../runtime/server.ts';
import { FakeEngine } from '../fakes/fake-engine.ts';
import { loadLoop } from './load.ts';

const config = loadConfig();
const fake = process.env.BENCH_ENGINE === 'fake' ? new FakeEngine() : null;
const bootStarted = performance.now();
const deck = await startPooldeck(config, {
  log: createLogger('warn', {}, (line) => process.stderr.write(line + '\n')),
  ...(fake ? { engine: fake, waitServing: null } : {}),
});
const bootMs = performance.now() - bootStarted;
const out = (message: Record<string, unknown>) => process.stdout.write(JSON.stringify(message) + '\n');
let subscribed = false;

deck.runtime.on('slot', (slot) => {
  if (subscribed) out({ event: 'slot', name: slot.name, state: slot.state, phase: slot.phase, at: slot.since });
});
deck.runtime.on('recovery', (e) => {
  if (subscribed) out({ event: 'recovery', name: e.name, durationMs: e.durationMs, at: Date.now() });
});

/** /proc/self/smaps_rollup in bytes (Linux): how much of the RSS is the node binary and libraries vs. the heap. */
function smapsRollup(): Record<string, number> {
  try {
    return Object.fromEntries(
      readFileSync('/proc/self/smaps_rollup', 'utf8')
        .split('\n')
        .map((line) => /^(\w+):\s+(\d+) kB/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], Number(m[2]) * 1024]),
    );
  } catch {
    return {};
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

async function handle(command: { id: number; op: string }): Promise<Record<string, unknown>> {
  switch (command.op) {
    case 'subscribe':
      subscribed = true;
      return {};
    case 'rss': {
      const before = process.memoryUsage();
      const rollup = smapsRollup();
      gc?.();
      const after = process.memoryUsage();
      return { rss: before.rss, heapUsed: before.heapUsed, heapTotal: before.heapTotal, external: before.external, arrayBuffers: before.arrayBuffers, rssAfterGc: after.rss, heapTotalAfterGc: after.heapTotal, anonymous: rollup.Anonymous, fileBacked: rollup.Rss !== undefined && rollup.Anonymous !== undefined ? rollup.Rss - rollup.Anonymous : undefined, slots: deck.runtime.slots().length };
    }
    case 'sweep': {
      // Wall time from the request to the recorded sweep: the Docker list plus the control plane's work.
      const started = performance.now();
      const record = await deck.runtime.runHealthCheck();
      return { ...record, wallMs: performance.now() - started, findings: record.findings.length };
    }
    case 'load':
      return { ...(await loadLoop(deck, command as unknown as Parameters<typeof loadLoop>[1])) };
    case 'engineCalls':
      return { calls: fake ? Object.fromEntries(['list', 'run', 'remove', 'start', 'exec'].map((op) => [op, fake.count(op)])) : null };
    case 'slots':
      return { slots: deck.runtime.slots() };
    case 'doubles': {
      // Slots holding more than one live assignment in SQLite, and live assignments the pool does not know.
      const doubles = await deck.db.all(`SELECT slot_name, COUNT(*) AS n FROM assignments WHERE released_at IS NULL AND pool_name = ? GROUP BY slot_name HAVING n > 1`, config.poolName);
      const active = await deck.db.all<Array<{ id: number; slot_name: string }>>(`SELECT id, slot_name FROM assignments WHERE released_at IS NULL AND pool_name = ?`, config.poolName);
      const held = new Map(deck.runtime.slots().filter((s) => s.assignment).map((s) => [s.assignment!.id, s.name]));
      const unknown = active.filter((a) => held.get(a.id) !== a.slot_name);
      return { doubles, active: active.length, held: held.size, unknown };
    }
    case 'stop':
      await deck.stop();
      out({ id: command.id, ok: true });
      process.exit(0);
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

if (fake) fake.calls.length = 0; // the recording would grow through the load run; counts restart here
out({ ready: true, port: deck.port, bootMs });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  handle(command).then(
    (result) => out({ id: command.id, ok: true, ...result }),
    (error) => out({ id: command.id, ok: false, error: (error as Error).message }),
  );
});
