/**
 * In-process load on a running Pooldeck (runs inside test/bench/deck-process.ts): `clients` loops,
 * each launch → hold (holdMs × 0.5–1.5) → release → pause (holdMs / 4), for `seconds`, through
 * `runtime.launch` / `runtime.release` — the pool actor and the SQLite store, without HTTP in front.
 * Counts every event the pool actor receives (its inspection stream) for events/s.
 */
import { performance } from 'node:perf_hooks';
import type { Pooldeck } from '../../runtime/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  const r = (n: number) => Math.round(n * 100) / 100;
  return { n: values.length, p50: r(at(50)), p99: r(at(99)), max: r(sorted.at(-1) ?? NaN) };
}

export async function loadLoop(deck: Pooldeck, options: { clients: number; seconds: number; holdMs: number }) {
  const { clients, seconds, holdMs } = options;
  const users: Array<{ id: number; username: string }> = [];
  for (let i = 0; i < clients; i++) {
    const username = `load${i}`;
    await deck.db.run(`INSERT OR IGNORE INTO users (username, email, password_hash) VALUES (?, ?, 'x')`, username, `${username}@bench.test`);
    const row = await deck.db.get<{ id: number }>(`SELECT id FROM users WHERE username = ?`, username);
    users.push({ id: row!.id, username });
  }
  let poolEvents = 0;
  let allEvents = 0;
  const onInspect = (event: { type: string; actorRef?: unknown }) => {
    if (event.type !== '@xstate.event') return;
    allEvents += 1;
    if (event.actorRef === deck.runtime.actor) poolEvents += 1;
  };
  deck.runtime.on('inspect', onInspect as never);
  const launchMs: number[] = [];
  const releaseMs: number[] = [];
  const refusals: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    users.map(async (user, i) => {
      await sleep((i * holdMs) / clients); // spread the starts over one hold time
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const { assignment } = await deck.runtime.launch(user, 'nginx');
          launchMs.push(performance.now() - t0);
          await sleep(holdMs * (0.5 + Math.random()));
          const t1 = performance.now();
          await deck.runtime.release(assignment.id);
          releaseMs.push(performance.now() - t1);
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'error';
          refusals[code] = (refusals[code] ?? 0) + 1;
        }
        await sleep(holdMs / 4);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  deck.runtime.off('inspect', onInspect as never);
  return {
    clients,
    seconds: Math.round(elapsedS * 10) / 10,
    launch: summary(launchMs),
    release: summary(releaseMs),
    refusals,
    launchesPerSecond: Math.round(launchMs.length / elapsedS),
    poolEventsPerSecond: Math.round(poolEvents / elapsedS),
    allActorEventsPerSecond: Math.round(allEvents / elapsedS),
  };
}
