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
  /** Move both the supervisor's simulated clock and the runtime's wall clock forward. */
  tick(ms: number): Promise<void>;
}

export async function harness(env: Record<string, string> = {}, shared?: { db: Db; engine: FakeEngine; dataDir: string }): Promise<Harness> {
  const dataDir = shared?.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'pooldeck-unit-'));
  const config = loadConfig({ POOLDECK_DATA: dataDir, POOLDECK_POOL: 'nginx=2,ssh=1', ...env });
  const db = shared?.db ?? (await openDb(':memory:'));
  await db.run(`INSERT OR IGNORE INTO users (id, username, email, password_hash) VALUES (1, 'ann', 'ann@x', 'x'), (2, 'bob', 'bob@x', 'x')`);
  const engine = shared?.engine ?? new FakeEngine();
  const clock = new SimulatedClock();
  let offset = 0;
  const files = new SlotFiles(path.join(dataDir, 'slots'));
  const store = new SqlitePoolStore(db, config.poolName);
  const runtime = new PoolRuntime({ config, engine, store, files, log: silentLogger, now: () => Date.now() + offset, clock, userKeys: async () => ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ann@test'] });
  await runtime.start({ settleTimeoutMs: 5000 });
  const h: Harness = {
    runtime, engine, clock, db, config, files, store,
    async tick(ms: number) {
      offset += ms;
      clock.increment(ms);
      await new Promise((r) => setTimeout(r, 20));
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
