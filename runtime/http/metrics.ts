/**
 * Prometheus metrics. Everything is fed by what the PoolRuntime emits ('launch', 'recovery',
 * 'moved', 'stranded', 'expired', 'sweep'); pool sizes are read from `runtime.counts()` at scrape time, so
 * a scrape never disagrees with the pool. One registry per runtime (tests run several at once).
 *
 * Access (`metricsRoutes`): an admin (API token or session) or, if configured, the bearer
 * `POOLDECK_METRICS_TOKEN` — a scraper credential that can read metrics and nothing else.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Router, type RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { parseSlotName } from '../../machines/pool.logic.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { PoolRuntime, RuntimeEvents, SweepRecord } from '../pool/pool-runtime.ts';

type LaunchEvent = RuntimeEvents['launch'][0];
type RecoveryEvent = RuntimeEvents['recovery'][0];

export interface MetricsOptions {
  /** How many socket.io clients are connected right now (read at scrape time). */
  connectedClients?: () => number;
  /** Node process metrics (RSS, heap, event-loop lag, GC) with the `pooldeck_` prefix. */
  processMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Writes the scrape; no access check (see `metricsRoutes`). */
  handler: RequestHandler;
  /** Stop listening to the runtime. */
  close(): void;
}

const LAUNCH_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
const RECOVERY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60];
const SWEEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5];

const typeOf = (slotName: string) => parseSlotName(slotName)?.type ?? 'unknown';

type Runtime = Pick<PoolRuntime, 'counts'> & Partial<Pick<PoolRuntime, 'nodes'>> & EventEmitter<RuntimeEvents>;

/** The runtime's nodes (none on one host, or before the pool started). */
function safeNodes(runtime: Runtime): ReturnType<PoolRuntime['nodes']> {
  try {
    return runtime.nodes?.() ?? [];
  } catch {
    return [];
  }
}

export function createMetrics(runtime: Runtime, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'pooldeck_' });

  new Gauge({
    name: 'pooldeck_pool_slots',
    help: 'Pool slots by container type and state, read from the pool at scrape time.',
    labelNames: ['type', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      let counts: ReturnType<PoolRuntime['counts']>;
      try {
        counts = runtime.counts();
      } catch {
        return; // the pool has not started yet
      }
      for (const [type, byState] of Object.entries(counts)) {
        for (const [state, n] of Object.entries(byState)) this.set({ type, state }, n);
      }
    },
  });
  new Gauge({
    name: 'pooldeck_node_slots',
    help: 'On a Swarm: pool slots by node and state, read at scrape time.',
    labelNames: ['node', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const node of safeNodes(runtime)) for (const [state, n] of Object.entries(node.slots)) this.set({ node: node.name, state }, n);
    },
  });
  new Gauge({
    name: 'pooldeck_node_ready',
    help: 'On a Swarm: 1 when the node takes slots, 0 when it is down or draining (label state: ready, down, drain).',
    labelNames: ['node', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const node of safeNodes(runtime)) this.set({ node: node.name, state: node.state }, node.state === 'ready' ? 1 : 0);
    },
  });
  const launches = new Counter({
    name: 'pooldeck_launches_total',
    help: 'Launch requests answered, by container type and outcome (ok, none-free, limit, unknown-type, error).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const launchSeconds = new Histogram({
    name: 'pooldeck_launch_duration_seconds',
    help: 'Time from a launch request reaching the pool to the assignment being stored (successful launches).',
    labelNames: ['type'] as const,
    buckets: LAUNCH_BUCKETS,
    registers: [registry],
  });
  const recoveries = new Counter({
    name: 'pooldeck_recoveries_total',
    help: 'Assigned containers that died and were rebuilt in place with their files.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const recoverySeconds = new Histogram({
    name: 'pooldeck_recovery_duration_seconds',
    help: 'Time from an assigned container dying to its replacement serving.',
    labelNames: ['type'] as const,
    buckets: RECOVERY_BUCKETS,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'pooldeck_slot_restarts_total',
    help: 'Assigned containers back after an admin restarted or recreated them (not counted as recoveries).',
    labelNames: ['type', 'kind'] as const,
    registers: [registry],
  });
  const moved = new Counter({
    name: 'pooldeck_assignments_moved_total',
    help: 'Assignments moved to another slot because theirs could not be rebuilt.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const expired = new Counter({
    name: 'pooldeck_assignments_expired_total',
    help: 'Assignments handed back by the pool policy (idle TTL, maximum lifetime), by type and reason.',
    labelNames: ['type', 'reason'] as const,
    registers: [registry],
  });
  const stranded = new Counter({
    name: 'pooldeck_assignments_stranded_total',
    help: 'Times an assignment could neither be rebuilt nor moved (the pool keeps trying).',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const sweeps = new Counter({
    name: 'pooldeck_health_sweeps_total',
    help: 'Health sweeps, by outcome (ok, error).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const sweepSeconds = new Histogram({
    name: 'pooldeck_health_sweep_duration_seconds',
    help: 'Duration of one health sweep (one Docker list call).',
    buckets: SWEEP_BUCKETS,
    registers: [registry],
  });
  const sweepCalls = new Counter({
    name: 'pooldeck_health_sweep_docker_calls_total',
    help: 'Docker API calls made by health sweeps; divide by pooldeck_health_sweeps_total for calls per sweep.',
    registers: [registry],
  });
  const lastSweepCalls = new Gauge({
    name: 'pooldeck_health_sweep_last_docker_calls',
    help: 'Docker API calls made by the most recent health sweep.',
    registers: [registry],
  });
  const lastSweepContainers = new Gauge({
    name: 'pooldeck_health_sweep_last_containers',
    help: 'Containers of this pool that the most recent health sweep saw.',
    registers: [registry],
  });
  const findings = new Counter({
    name: 'pooldeck_health_sweep_findings_total',
    help: 'Slots a health sweep found broken (missing, stopped or replaced containers).',
    registers: [registry],
  });
  if (options.connectedClients) {
    const clients = options.connectedClients;
    new Gauge({
      name: 'pooldeck_socketio_connected_clients',
      help: 'socket.io clients connected right now.',
      registers: [registry],
      collect() {
        this.set(clients());
      },
    });
  }

  const onLaunch = (e: LaunchEvent) => {
    launches.inc({ type: e.type, outcome: e.ok ? 'ok' : (e.refusal ?? 'error') });
    if (e.ok) launchSeconds.observe({ type: e.type }, e.ms / 1000);
  };
  const onRecovery = (e: RecoveryEvent) => {
    const type = typeOf(e.name);
    recoveries.inc({ type });
    recoverySeconds.observe({ type }, e.durationMs / 1000);
  };
  const onRestarted = (e: RuntimeEvents['restarted'][0]) => restarts.inc({ type: typeOf(e.name), kind: e.kind });
  const onMoved = (e: RuntimeEvents['moved'][0]) => moved.inc({ type: typeOf(e.to) });
  const onStranded = (e: RuntimeEvents['stranded'][0]) => stranded.inc({ type: typeOf(e.name) });
  const onExpired = (e: RuntimeEvents['expired'][0]) => expired.inc({ type: typeOf(e.name), reason: String(e.reason) });
  const onSweep = (s: SweepRecord) => {
    sweeps.inc({ outcome: s.error ? 'error' : 'ok' });
    sweepCalls.inc(s.dockerCalls);
    lastSweepCalls.set(s.dockerCalls);
    if (s.error) return;
    sweepSeconds.observe(s.durationMs / 1000);
    lastSweepContainers.set(s.containers);
    findings.inc(s.findings.length);
  };
  runtime.on('launch', onLaunch);
  runtime.on('recovery', onRecovery);
  runtime.on('restarted', onRestarted);
  runtime.on('moved', onMoved);
  runtime.on('stranded', onStranded);
  runtime.on('expired', onExpired);
  runtime.on('sweep', onSweep);

  const handler: RequestHandler = async (_req, res) => {
    const body = await registry.metrics();
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.send(body);
  };

  return {
    registry,
    handler,
    close() {
      runtime.off('launch', onLaunch);
      runtime.off('recovery', onRecovery);
      runtime.off('restarted', onRestarted);
      runtime.off('moved', onMoved);
      runtime.off('stranded', onStranded);
      runtime.off('expired', onExpired);
      runtime.off('sweep', onSweep);
    },
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** `GET /metrics` for admins, or for the bearer of `token` when one is configured. */
export function metricsRoutes(metrics: Pick<Metrics, 'handler'>, access: { accounts: Pick<Accounts, 'identify'>; token: string | null }): Router {
  const router = Router();
  const expected = access.token ? digest(access.token) : null;
  router.get('/metrics', async (req, res, next) => {
    const authorization = req.headers.authorization;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (expected && bearer && timingSafeEqual(digest(bearer), expected)) return metrics.handler(req, res, next);
    const identity = await access.accounts.identify({ cookie: req.headers.cookie, authorization });
    res.setHeader('Cache-Control', 'no-store');
    if (!identity.user) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="pooldeck metrics"');
      res.status(401).json({ error: 'metrics are for admins: send an admin API token or the metrics token (Authorization: Bearer …)' });
      return;
    }
    if (!identity.user.isAdmin) {
      res.status(403).json({ error: 'only an admin may read the metrics' });
      return;
    }
    return metrics.handler(req, res, next);
  });
  return router;
}
