/** The express application: routes are mounted here; each router lives in its own module. */
import express from 'express';
import type { Server } from 'node:http';
import type { Config } from '../config.ts';
import type { ContainerEngine } from '../engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool-runtime.ts';
import type { SlotFiles } from '../slot-files.ts';
import type { Db } from '../store/db.ts';
import type { PoolStore } from '../store/pool-store.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  runtime: PoolRuntime;
  store: PoolStore;
  files: SlotFiles;
  engine: ContainerEngine;
  log: Logger;
  state: { ready: boolean; error: string | null };
}

export interface HttpApp {
  handler: express.Express;
  /** Attach what needs the raw server (socket.io). */
  attach?(server: Server): Promise<void> | void;
  close?(): Promise<void>;
}

export async function createHttpApp(deps: AppDeps): Promise<HttpApp> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    if (deps.state.ready) res.json({ ok: true, pool: deps.runtime.counts() });
    else res.status(503).json({ ok: false, error: deps.state.error ?? 'starting' });
  });
  return { handler: app };
}
