/** A PoolRuntime over the recording FakeEngine, in-memory SQLite and a temp directory. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimulatedClock } from 'xstate';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { PoolRuntime } from '../../runtime/pool/pool-runtime.ts';
import { SlotFiles } from '../../runtime/pool/slot-files.ts';
import { openDb, type Db } from '../../runtime/store/db.ts';
import { SqlitePoolStore } from '../../runtime/store/pool-store.ts';
import { FakeEngine } from '../fakes/fake-engine.ts';
import { eventually } from '../support/server.ts';

export interface Harness {
  runtime: PoolRuntime;
  engine: FakeEngine;
  clock: SimulatedClock;
  db: Db;
  config: Config;
  files: SlotFiles;
  store: SqlitePoolStore;
  restart(): Promise<Harness>;
  /** Move both the supervisor's simulated clock and the runtime's wall clock forward, then wait until quiet. */
  tick(ms: number): Promise<void>;
  /** Resolve once no engine, store or file call is under way (checked between macrotasks). */
  quiet(): Promise<void>;
}

/**
 * Count the calls of `target`'s async methods that are under way. A machine step is a chain of
 * microtasks between such calls, so "nothing in flight at a macrotask boundary" means settled.
 */
function tracked<T extends object>(target: T, busy: { calls: number }): T {
  return new Proxy(target, {
    get(object, key, receiver) {
      const value = Reflect.get(object, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        busy.calls += 1;
        return result.finally(() => {
          busy.calls -= 1;
        });
      };
    },
  });
}

export async function harness(env: Record<string, string> = {}, shared?: { db: Db; engine: FakeEngine; dataDir: string }): Promise<Harness> {
  const dataDir = shared?.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'pooldeck-unit-'));
  const config = loadConfig({ POOLDECK_DATA: dataDir, POOLDECK_POOL: 'nginx=2,ssh=1', ...env });
  const db = shared?.db ?? (await openDb(':memory:'));
  await db.run(`INSERT OR IGNORE INTO users (id, username, email, password_hash) VALUES (1, 'ann', 'ann@x', 'x'), (2, 'bob', 'bob@x', 'x')`);
  const engine = shared?.engine ?? new FakeEngine();
  const clock = new SimulatedClock();
  let offset = 0;
  const busy = { calls: 0 };
  const files = tracked(new SlotFiles(path.join(dataDir, 'slots')), busy);
  const store = tracked(new SqlitePoolStore(db, config.poolName), busy);
  const runtime = new PoolRuntime({ config, engine, store, files, log: silentLogger, now: () => Date.now() + offset, clock, userKeys: async () => ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ann@test'] });
  await runtime.start({ settleTimeoutMs: 5000 });
  const quiet = async () => {
    // Two quiet checks in a row, a macrotask apart: a call may start right after one returns.
    let calm = 0;
    const started = Date.now();
    while (calm < 2) {
      await new Promise((r) => setImmediate(r));
      calm = busy.calls === 0 && engine.inFlight === engine.runsHeld ? calm + 1 : 0;
      if (Date.now() - started > 5000) throw new Error(`not quiet after 5 s: ${busy.calls} store/file calls, ${engine.inFlight} engine calls`);
    }
  };
  const h: Harness = {
    runtime, engine, clock, db, config, files, store, quiet,
    async tick(ms: number) {
      offset += ms;
      clock.increment(ms);
      await quiet();
    },
    async restart() {
      await runtime.stop();
      return harness(env, { db, engine, dataDir });
    },
  };
  return h;
}

export const ann = { id: 1, username: 'ann' };
export const bob = { id: 2, username: 'bob' };

/** Resolve when `predicate` holds for the runtime's slots (or fail after `ms`). */
export async function until(runtime: PoolRuntime, predicate: () => boolean, ms = 3000): Promise<void> {
  if (!(await eventually(predicate, ms, 10)).ok) {
    throw new Error('condition not reached: ' + JSON.stringify(runtime.slots().map((s) => [s.name, s.state, s.phase])));
  }
}
