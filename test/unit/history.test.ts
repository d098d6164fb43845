import test from 'ava';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PoolHistory, percentile } from '../../runtime/history/pool-history.ts';
import { silentLogger } from '../../runtime/logger.ts';
import type { PoolRuntime, RuntimeEvents } from '../../runtime/pool/pool-runtime.ts';
import { openDb } from '../../runtime/store/db.ts';
import { SqliteHistoryStore } from '../../runtime/store/history-store.ts';

const counts = (available: number, assigned: number) => ({ nginx: { available, assigned, failed: 0, stopped: 0 } });

function fakeRuntime() {
  const runtime = new EventEmitter<RuntimeEvents>() as EventEmitter<RuntimeEvents> & Pick<PoolRuntime, 'counts'>;
  let current = counts(3, 0);
  runtime.counts = () => current;
  return { runtime, set: (c: ReturnType<typeof counts>) => (current = c) };
}

test('percentile is nearest-rank', (t) => {
  t.is(percentile([], 50), null);
  t.is(percentile([5], 99), 5);
  t.is(percentile([1, 2, 3, 4], 50), 2);
  t.is(percentile([...Array(100).keys()].map((i) => i + 1), 99), 99);
});

test('When launches and recoveries happen between samples, then a sample counts them with p50/p99 and the slot counts of its moment', async (t) => {
  const db = await openDb(':memory:');
  let now = 1_000_000;
  const { runtime, set } = fakeRuntime();
  const history = new PoolHistory(runtime, new SqliteHistoryStore(db, 'p'), silentLogger, { sampleMs: 1000, now: () => now });
  history.start();
  const live: number[] = [];
  history.on('sample', (s) => live.push(s.launches));
  for (const ms of [4, 8, 2, 100]) runtime.emit('launch', { type: 'nginx', ok: true, ms });
  runtime.emit('launch', { type: 'nginx', ok: false, refusal: 'none-free', ms: 1 });
  runtime.emit('recovery', { type: 'recovery.done', name: 'x', durationMs: 800, attempts: 1 } as never);
  set(counts(0, 3));
  const first = (await history.sample())!;
  t.like(first, { at: now, launches: 4, failedLaunches: 1, launchP50Ms: 4, launchP99Ms: 100, recoveries: 1, recoveryMeanMs: 800, recoveryMaxMs: 800 });
  t.deepEqual(first.slots, counts(0, 3));
  now += 1000;
  const second = (await history.sample())!;
  t.like(second, { launches: 0, failedLaunches: 0, launchP50Ms: null, recoveries: 0 });
  t.deepEqual(live, [4, 0]);
  t.deepEqual((await history.recent(60_000)).map((s) => s.at), [now - 1000, now]);
  history.stop();
  runtime.emit('launch', { type: 'nginx', ok: true, ms: 1 });
  t.is((await history.sample())!.launches, 0, 'stopped: no longer listening');
  await db.close();
});

test('When fine samples age, then they fold into 5-minute buckets that add launches, keep the last counts and survive reopening', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-history-'));
  const file = path.join(dir, 'h.sqlite');
  let db = await openDb(file);
  const retention = { fineKeepMs: 60_000, coarseMs: 300_000, coarseKeepMs: 86_400_000 };
  let store = new SqliteHistoryStore(db, 'p', retention);
  const base = 300_000 * 100;
  for (let i = 0; i < 30; i++) {
    await store.add({ at: base + i * 10_000, ms: 10_000, slots: counts(3 - (i % 3), i % 3), launches: 2, failedLaunches: 0, launchP50Ms: i < 15 ? 10 : 20, launchP99Ms: i, recoveries: i === 3 ? 1 : 0, recoveryMeanMs: i === 3 ? 500 : null, recoveryMaxMs: i === 3 ? 500 : null });
  }
  await store.compact(base + 300_000 + 120_000);
  await db.close();
  db = await openDb(file);
  store = new SqliteHistoryStore(db, 'p', retention);
  const folded = await store.since(0);
  t.is(folded.length, 1 + 0, 'one coarse bucket; the fine samples were all older than the window');
  t.like(folded[0], { at: base, ms: 300_000, launches: 60, launchP50Ms: 15, launchP99Ms: 29, recoveries: 1, recoveryMeanMs: 500 });
  t.deepEqual(folded[0].slots, counts(1, 2));
  // Other pools' rows are theirs.
  t.deepEqual(await new SqliteHistoryStore(db, 'other').since(0), []);
  await store.compact(base + 3 * 86_400_000);
  t.deepEqual(await store.since(0), [], 'coarse buckets older than their keep are gone');
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});
