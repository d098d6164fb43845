/**
 * The express application. Order: security headers, /healthz, then /api (JSON body parser,
 * identify the caller, CSRF guard, routers, JSON 404), then the built UI with SPA fallback,
 * then the single error handler. Each router lives in its own module.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import type { Accounts } from '../accounts/accounts.ts';
import type { Config } from '../config.ts';
import type { ContainerConsole } from '../docker/console.ts';
import type { ContainerEngine } from '../docker/engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { RequestError } from './request-error.ts';
import type { SlotFiles } from '../pool/slot-files.ts';
import type { Db } from '../store/db.ts';
import type { PoolStore } from '../store/pool-store.ts';
import { attachRealtime, type Realtime } from '../realtime/socket-server.ts';
import { adminRoutes } from './admin-routes.ts';
import { csrfGuard, identify, identityOf } from './auth.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { auditRequests } from '../audit/http-audit.ts';
import { auditRoutes } from '../audit/audit-routes.ts';
import { openApiDocument } from './api/openapi.ts';
import { validateRequests } from './api/request-validation.ts';
import { packageVersion } from './api/version.ts';
import { authRoutes } from './auth-routes.ts';
import { accountRoutes } from './account-routes.ts';
import type { SelfService } from '../accounts/self-service.ts';
import { containerRoutes } from './container-routes.ts';
import { apiNotFound, errorHandler } from './errors.ts';
import { SlotUploads } from './upload.ts';
import { fileMirror } from '../pool/file-mirror.ts';
import { createMetrics, metricsRoutes } from './metrics.ts';
import { PoolHistory } from '../history/pool-history.ts';
import { SqliteHistoryStore } from '../store/history-store.ts';
import { historyRoutes } from './history-routes.ts';
import { SecurityStatus } from '../security/security-status.ts';
import { containerHostGuard } from '../security/session-exposure.ts';
import { contentSecurityPolicy } from './csp.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  runtime: PoolRuntime;
  store: PoolStore;
  files: SlotFiles;
  engine: ContainerEngine;
  /** Terminals, logs and stats; null when the engine cannot open them (they are refused). */
  console?: ContainerConsole | null;
  log: Logger;
  accounts: Accounts;
  audit: AuditLog;
  self: SelfService;
  /** Shown in the OpenAPI document. */
  version?: string;
  state: { ready: boolean; error: string | null };
  /** Isolation warnings for the admin page (sessions exposed, host firewall missing). */
  security?: SecurityStatus;
}

export interface HttpApp {
  handler: express.Express;
  /** Attach what needs the raw server (socket.io). */
  attach?(server: Server): Promise<void> | void;
  close?(): Promise<void>;
}

export async function createHttpApp(deps: AppDeps): Promise<HttpApp> {
  const { config, runtime, store, files, engine, log, accounts } = deps;
  const uploads = new SlotUploads(config, files, store, log, fileMirror(runtime, engine, files, config, log));
  await uploads.init();

  const history = new PoolHistory(runtime, new SqliteHistoryStore(deps.db, config.poolName), log, { sampleMs: config.historySampleMs });
  history.start();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Content-Security-Policy', contentSecurityPolicy);
    next();
  });
  // No dashboard (hence no session cookie) on the containers' address or host name.
  const guard = containerHostGuard(config);
  if (guard) app.use(guard);

  app.get('/healthz', (_req, res) => {
    if (deps.state.ready) res.json({ ok: true, pool: runtime.counts() });
    else res.status(503).json({ ok: false, error: deps.state.error ?? 'starting' });
  });

  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const openapi = openApiDocument(deps.version ?? packageVersion());
  api.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  api.use(express.json({ limit: '64kb', strict: true }));
  api.use(identify(accounts));
  api.use(csrfGuard);
  api.use(auditRequests(deps.audit, (req) => identityOf(req)?.user ?? null));
  api.use(validateRequests());
  api.use((req, _res, next) => {
    // Routes that need the pool answer once it has started; accounts work before that.
    if (!deps.state.ready && /^\/(pool|containers|admin)(\/|$)/.test(req.path)) res503(deps.state.error);
    next();
  });
  api.use(authRoutes(accounts, deps.self));
  api.use(accountRoutes(deps.self));
  api.use(containerRoutes({ config, runtime, store, uploads }));
  api.use('/admin', auditRoutes(deps.audit));
  api.use('/admin/history', historyRoutes(history));
  api.use('/admin', adminRoutes({ config, runtime, store, engine, accounts, log, security: deps.security ?? new SecurityStatus(log) }));
  api.use(apiNotFound);
  app.use('/api', api);
  app.use(metricsRoutes(createMetrics(runtime, { connectedClients: () => realtime?.io.sockets.sockets.size ?? 0 }), { accounts, token: config.metricsToken }));

  const index = path.join(config.uiDir, 'index.html');
  app.use(
    express.static(config.uiDir, {
      index: false,
      setHeaders(res, file) {
        res.setHeader('Cache-Control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !existsSync(index)) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorHandler(log));

  let realtime: Realtime | null = null;
  return {
    handler: app,
    attach(server) {
      // Keep idle connections longer than clients and proxies do (undici: server hint - 1 s,
      // nginx/ALB: 60 s), so a client never reuses a socket the server is closing that moment.
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      realtime = attachRealtime(server, { runtime, config, log, authenticate: accounts.authenticate, console: deps.console ?? null, ready: () => deps.state.ready, audit: deps.audit, revocations: accounts.events });
      const io = realtime.io;
      history.on('sample', (sample) => io.to('admins').emit('history:sample', sample));
    },
    async close() {
      history.stop();
      history.removeAllListeners();
      await realtime?.close();
      realtime = null;
    },
  };
}

function res503(error: string | null): never {
  throw new RequestError(503, error ? `the pool failed to start: ${error}` : 'the pool is starting; try again shortly');
}
