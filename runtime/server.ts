/**
 * Composition root: reads nothing itself, wires the adapters for a given config, starts the
 * HTTP server first (so /healthz can say "starting") and then the pool.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Accounts } from './accounts/accounts.ts';
import { AuditLog, auditPool } from './audit/audit-log.ts';
import { SelfService } from './accounts/self-service.ts';
import { SqliteAuditStore } from './store/audit-store.ts';
import type { Config } from './config.ts';
import Docker from 'dockerode';
import { SwarmConsole } from './docker/swarm-console.ts';
import type { ContainerConsole } from './docker/console.ts';
import { DockerodeConsole } from './docker/docker-console.ts';
import { DockerodeEngine } from './docker/dockerode-engine.ts';
import { dockerOptions } from './docker/swarm-config.ts';
import { SwarmEngine } from './docker/swarm-engine.ts';
import type { ContainerEngine } from './docker/engine.ts';
import { createHttpApp } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';
import type { PoolDeps } from './pool/pool-actors.ts';
import { repairSshCredentials } from './pool/credential-repair.ts';
import { PoolRuntime } from './pool/pool-runtime.ts';
import { guardFromSubnets } from './http/pool-guard.ts';
import { waitUntilServing } from './pool/probe.ts';
import { SlotFiles } from './pool/slot-files.ts';
import { Isolation } from './security/isolation.ts';
import { openDb, type Db } from './store/db.ts';
import { SqlitePoolStore } from './store/pool-store.ts';

export interface Pooldeck {
  config: Config;
  runtime: PoolRuntime;
  accounts: Accounts;
  audit: AuditLog;
  db: Db;
  http: Server;
  port: number;
  log: Logger;
  engine: ContainerEngine;
  isolation: Isolation;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Instead of Docker through dockerode (tests); then terminals, logs and stats need `console`. */
  engine?: ContainerEngine;
  /** How a slot is known to serve; default: probe its published port. `null`: do not wait (a fake engine's containers serve nothing). */
  waitServing?: PoolDeps['waitServing'] | null;
  console?: ContainerConsole;
}

export async function startPooldeck(config: Config, options: StartOptions = {}): Promise<Pooldeck> {
  const log = options.log ?? createLogger(config.logLevel, { pool: config.poolName });
  const db = await openDb(path.join(config.dataDir, 'pooldeck.sqlite'));
  const isolation = new Isolation(config, log);
  let engine = options.engine;
  let containerConsole: ContainerConsole | null = options.console ?? null;
  let docker: DockerodeEngine | null = null;
  let poolSubnets: string[] = [];
  if (!engine && config.engine.kind === 'swarm') {
    const swarm = new SwarmEngine(config, log);
    await swarm.ping();
    await swarm.ensureNetwork();
    engine = swarm;
    containerConsole ??= new SwarmConsole(swarm);
  }
  if (!engine) {
    const { host, tls } = config.engine;
    docker = new DockerodeEngine(config.poolName, log, host ? new Docker(dockerOptions(host, tls)) : undefined);
    await docker.ping();
    await docker.ensureNetwork();
    // The host firewall protects the machine the engine runs on: this one unless it is remote.
    if (!host) await isolation.prepareHost();
    else log.warn('host.firewall.remote', { engine: host, reason: 'the containers run on another host; install ops/scripts/host-firewall.sh there' });
    poolSubnets = await docker.networkSubnets();
    engine = docker;
    containerConsole ??= new DockerodeConsole(docker.docker);
  }
  const store = new SqlitePoolStore(db, config.poolName);
  const files = new SlotFiles(path.join(config.dataDir, 'slots'));
  let accounts: Accounts;
  try {
    accounts = await Accounts.open(db, config, log);
  } catch (error) {
    await db.close();
    throw error;
  }
  const audit = new AuditLog(new SqliteAuditStore(db), log, { retentionDays: config.auditRetentionDays });
  await audit.start();
  const waitServing =
    options.waitServing === undefined
      ? (slot: { hostPort: number; host?: string }, protocol: 'http' | 'ssh') => waitUntilServing(protocol, slot.host ?? config.bind, slot.hostPort)
      : (options.waitServing ?? undefined);
  const runtime = new PoolRuntime({ config, engine, store, files, log, now: Date.now, userKeys: accounts.userKeys, waitServing });
  const stopAuditingPool = auditPool(audit, runtime);
  const self = new SelfService(db, accounts, runtime, log);
  await self.init();

  const state = { ready: false, error: null as string | null };
  const app = await createHttpApp({ config, db, runtime, store, files, engine, console: containerConsole, log, accounts, audit, self, state, security: isolation.status });
  const http = createServer(app.handler);
  guardFromSubnets(http, poolSubnets, log);
  await app.attach?.(http);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  log.info('http.listening', { port, host: config.host });

  const started = Date.now();
  try {
    await runtime.start();
  } catch (error) {
    state.error = (error as Error).message;
    await new Promise((r) => http.close(r));
    await accounts.close();
    stopAuditingPool();
    await audit.stop();
    await db.close();
    throw error;
  }
  await repairSshCredentials({ config, runtime, store, engine, log, userKeys: accounts.userKeys });
  state.ready = true;
  log.info('pool.ready', { ms: Date.now() - started, counts: runtime.counts() });
  if (docker && !config.engine.host) isolation.verifyHost(docker, runtime);

  return {
    config, runtime, accounts, audit, db, http, port, log, engine, isolation,
    async stop() {
      await isolation.close();
      await app.close?.();
      await new Promise((r) => http.close(r));
      http.closeAllConnections?.();
      await runtime.stop();
      await accounts.close();
      stopAuditingPool();
      await audit.stop();
      await db.close();
    },
  };
}
