/**
 * The running pool: reconciles SQLite with Docker at start, runs the pool supervisor actor,
 * feeds it Docker's event stream, mirrors what it emits into SQLite and out to listeners,
 * and turns launch/release/admin requests into actor events with awaited answers.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { PoolEmitted } from '../../machines/pool.machine.ts';
import { buildSlots, countByType, parseSlotName, planReconcile, slotSpec } from '../../machines/pool.logic.ts';
import { buildPlacedSlots, capacityOf, nodesOf, specOfName } from '../../machines/pool.nodes.ts';
import type { Assignment, NodeStatus, SlotState, SlotView, TypeRange } from '../../machines/types.ts';
import { providePoolMachine, runSpec, type PoolDeps } from './pool-actors.ts';
import { requireTypeSpec, typeSpec } from '../config.ts';

export type PoolActor = Actor<ReturnType<typeof providePoolMachine>>;

export interface RuntimeEvents {
  slot: [SlotView & { since: number }];
  'slot.removed': [string];
  recovery: [Extract<PoolEmitted, { type: 'recovery.done' }>];
  moved: [Extract<PoolEmitted, { type: 'assignment.moved' }>];
  stranded: [Extract<PoolEmitted, { type: 'assignment.stranded' }>];
  sweep: [SweepRecord];
  monitor: [MonitorStatus];
  inspect: [InspectionEvent];
  launch: [{ type: string; ok: boolean; refusal?: string; ms: number }];
  expiring: [Extract<PoolEmitted, { type: 'assignment.expiring' }>];
  expired: [Extract<PoolEmitted, { type: 'assignment.expired' }>];
}

export interface SweepRecord {
  at: number;
  durationMs: number;
  containers: number;
  dockerCalls: number;
  findings: Array<{ name: string; expected: SlotState; containerId: string | null; running: boolean }>;
  orphans: string[];
  error?: string;
}

export interface MonitorStatus {
  paused: boolean;
  intervalMs: number;
  lastSweep: SweepRecord | null;
}

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'error',
  ) {
    super(message);
  }
}

const REFUSAL_STATUS = { 'unknown-type': 400, 'none-free': 409, limit: 429, error: 503 } as const;
const REQUEST_TIMEOUT_MS = 60_000;

type Pending = { resolve: (e: PoolEmitted) => void; timer: NodeJS.Timeout };

export class PoolRuntime extends EventEmitter<RuntimeEvents> {
  actor!: PoolActor;
  private readonly pending = new Map<string, Pending>();
  private readonly since = new Map<string, number>();
  private readonly sweeps: SweepRecord[] = [];
  private stopWatching: (() => void) | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(readonly deps: PoolDeps) {
    super();
    this.setMaxListeners(0);
  }

  get ranges(): Record<string, TypeRange> {
    return Object.fromEntries(Object.values(this.deps.config.types).map((t) => [t.type, { portStart: t.portStart, portEnd: t.portEnd }]));
  }

  /** Reconcile, start the supervisor, and resolve once every slot has settled (with progress logs). */
  async start(options: { settleTimeoutMs?: number } = {}): Promise<void> {
    const { config, engine, store, files, log } = this.deps;
    await engine.ping();
    for (const type of Object.keys(config.sizes)) {
      const { image } = requireTypeSpec(config, type);
      if ((config.sizes[type] ?? 0) > 0 && !(await engine.hasImage(image))) {
        throw new RequestError(500, `image ${image} is missing; build the pool images with "make images"`, 'image-missing');
      }
    }
    const ranges = this.ranges;
    const nodeList = engine.nodes ? await engine.nodes() : null;
    const [stored, observed] = await Promise.all([store.loadSlots(), engine.list()]);
    let wanted;
    let parse = (name: string) => {
      const parsed = parseSlotName(name);
      const range = parsed ? ranges[parsed.type] : undefined;
      return parsed && range ? slotSpec(parsed.type, parsed.index, range) : null;
    };
    if (nodeList) {
      const nodes = nodesOf(nodeList);
      wanted = buildPlacedSlots(config.sizes, nodes, [...stored.map((s) => s.name), ...observed.map((o) => o.name)]);
      parse = (name) => specOfName(name, nodes);
      for (const [type, size] of Object.entries(config.sizes)) {
        const placed = wanted.filter((s) => s.type === type).length;
        if (placed < size) log.warn('swarm.capacity', { type, size, placed, capacity: capacityOf(type, nodes), hint: `give nodes a pooldeck.ports.${type} range` });
      }
      log.info('swarm.nodes', { nodes: nodeList.map((n) => ({ name: n.name, state: n.state, host: n.host, ports: n.ports })) });
    } else wanted = buildSlots(config.sizes, ranges);
    const plan = planReconcile(wanted, stored, observed, parse);
    for (const orphan of plan.orphans) {
      log.warn('reconcile.orphan_removed', { name: orphan.name, containerId: orphan.id.slice(0, 12) });
      await engine.remove(orphan.id);
    }
    const wantedNames = new Set(plan.slots.map((s) => s.slot.name));
    for (const row of stored) if (!wantedNames.has(row.name)) await store.deleteSlot(row.name);
    for (const s of plan.slots) {
      const type = requireTypeSpec(config, s.slot.type);
      await files.ensure(s.slot.name, s.slot.type, s.slot.hostPort);
      await store.saveSlot({ spec: s.slot, image: type.image, containerPort: type.containerPort, containerId: s.containerId, status: s.assignment ? 'assigned' : 'stopped', phase: 'starting' });
    }
    const adopted = plan.slots.filter((s) => s.observed !== 'missing').length;
    log.info('reconcile.planned', { slots: plan.slots.length, adopted, create: plan.slots.length - adopted, orphans: plan.orphans.length, assignments: plan.slots.filter((s) => s.assignment).length, keptForAssignments: plan.keptForAssignments });

    const interval = Number(await store.getSetting('health_interval_ms')) || config.healthIntervalMs;
    const paused = (await store.getSetting('monitor_paused')) === 'true';
    this.actor = createActor(providePoolMachine(this.deps), {
      input: {
        slots: plan.slots,
        ranges,
        healthIntervalMs: interval,
        perUserLimit: config.perUserLimit,
        monitorPaused: paused,
        expiry: { idleTtlMs: config.policy.idleTtlMs, maxLifetimeMs: config.policy.maxLifetimeMs, warnMs: config.policy.warnMs },
        elastic: config.policy.elastic,
        baseSizes: config.sizes,
        ...(nodeList ? { nodes: nodeList } : {}),
      },
      inspect: (event) => this.emit('inspect', event),
      ...(this.deps.clock ? { clock: this.deps.clock } : {}),
    });
    this.bridge();
    const settled = this.waitSettled(options.settleTimeoutMs ?? 5 * 60_000);
    this.actor.start();
    this.stopWatching = engine.watch(
      (event) => this.actor.send({ type: 'docker.event', action: event.action, containerId: event.containerId, name: event.name, at: event.at }),
      (connected, error) => {
        if (connected) {
          log.info('docker.events.connected');
          this.actor.send({ type: 'health.runNow' });
        } else log.warn('docker.events.disconnected', { error });
      },
    );
    const stopNodes = engine.watchNodes?.((nodes) => this.actor.send({ type: 'nodes.changed', nodes }));
    if (stopNodes) {
      const stopContainers = this.stopWatching;
      this.stopWatching = () => {
        stopContainers();
        stopNodes();
      };
    }
    await settled;
  }

  async stop(): Promise<void> {
    this.stopWatching?.();
    this.actor?.stop();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
    }
    await this.writes;
  }

  private waitSettled(timeoutMs: number): Promise<void> {
    const { log } = this.deps;
    return new Promise((resolve, reject) => {
      let lastLine = '';
      const check = () => {
        const slots = this.slots();
        const byType = new Map<string, { ready: number; total: number }>();
        for (const s of slots) {
          const t = byType.get(s.type) ?? { ready: 0, total: 0 };
          t.total += 1;
          if (s.state === 'available' || s.state === 'assigned') t.ready += 1;
          byType.set(s.type, t);
        }
        const line = [...byType].map(([type, t]) => `${type} ${t.ready}/${t.total}`).join(', ');
        if (line !== lastLine) {
          lastLine = line;
          log.info('pool.progress', { progress: line });
        }
        if ([...byType.values()].every((t) => t.ready === t.total)) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`pool did not settle within ${timeoutMs} ms: ${lastLine}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off('slot', check);
      };
      this.on('slot', check);
      queueMicrotask(check);
    });
  }

  /** Serialise store writes so that status rows never go backwards. */
  private write(what: string, fn: () => Promise<unknown>) {
    this.writes = this.writes.then(fn).catch((error) => this.deps.log.error('store.write_failed', { what, error: String(error) }));
  }

  private bridge() {
    const { store, log, now } = this.deps;
    this.actor.on('*', (event: PoolEmitted) => {
      switch (event.type) {
        case 'slot.updated': {
          const slot = event.slot;
          const since = now();
          this.since.set(slot.name, since);
          this.write('status', () => store.setStatus(slot.name, slot.state, slot.phase, slot.containerId));
          this.write('event', () => store.logEvent('state', { slot: slot.name, userId: slot.assignment?.userId, detail: { state: slot.state, phase: slot.phase, containerId: slot.containerId?.slice(0, 12), error: slot.error } }));
          log.debug('slot.state', { slot: slot.name, state: slot.state, phase: slot.phase });
          this.emit('slot', { ...slot, since });
          break;
        }
        case 'slot.removed':
          this.since.delete(event.name);
          this.emit('slot.removed', event.name);
          break;
        case 'recovery.done':
          log.info('recovery.done', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, durationMs: event.durationMs, attempts: event.attempts });
          this.write('event', () => store.logEvent('recovery', { slot: event.name, userId: event.assignment.userId, detail: { durationMs: event.durationMs, attempts: event.attempts, containerId: event.containerId.slice(0, 12) } }));
          this.emit('recovery', event);
          break;
        case 'assignment.moved':
          log.warn('assignment.moved', { from: event.from, to: event.to, assignment: event.assignment.id });
          this.write('event', () => store.logEvent('moved', { slot: event.to, userId: event.assignment.userId, detail: { from: event.from, to: event.to } }));
          this.emit('moved', event);
          break;
        case 'assignment.stranded':
          log.error('assignment.stranded', { slot: event.name, message: event.message });
          this.write('event', () => store.logEvent('stranded', { slot: event.name, userId: event.assignment.userId, detail: { message: event.message } }));
          this.emit('stranded', event);
          break;
        case 'health.swept':
        case 'health.failed': {
          const record: SweepRecord =
            event.type === 'health.swept'
              ? { at: event.startedAt, durationMs: event.durationMs, containers: event.containers, dockerCalls: event.dockerCalls, findings: event.findings, orphans: event.orphans.map((o) => o.name) }
              : { at: now(), durationMs: 0, containers: 0, dockerCalls: 1, findings: [], orphans: [], error: event.error };
          this.sweeps.push(record);
          if (this.sweeps.length > 200) this.sweeps.shift();
          const level = record.error || record.findings.length || record.orphans.length ? 'warn' : 'debug';
          log[level]('health.sweep', { durationMs: record.durationMs, containers: record.containers, findings: record.findings.length, orphans: record.orphans.length, error: record.error });
          this.write('event', () => store.logEvent('health', { detail: { ...record } }));
          this.emit('sweep', record);
          break;
        }
        case 'assignment.expiring':
          log.info('assignment.expiring', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, reason: event.reason, deadline: new Date(event.deadline).toISOString() });
          this.emit('expiring', event);
          break;
        case 'assignment.expired':
          log.info('assignment.expired', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, reason: event.reason });
          this.write('event', () => store.logEvent('expired', { slot: event.name, userId: event.assignment.userId, detail: { reason: event.reason, assignment: event.assignment.id } }));
          this.emit('expired', event);
          break;
        case 'pool.scaled':
          log.info('pool.scaled', { added: event.added, retired: event.retired });
          break;
        case 'monitor.changed':
          this.write('setting', () => store.setSetting('health_interval_ms', String(event.intervalMs)));
          this.write('setting', () => store.setSetting('monitor_paused', String(event.paused)));
          log.info('monitor.changed', { paused: event.paused, intervalMs: event.intervalMs });
          this.emit('monitor', this.monitor());
          break;
        default: {
          const requestId = (event as { requestId?: string }).requestId;
          const waiter = requestId ? this.pending.get(requestId) : undefined;
          if (waiter) {
            clearTimeout(waiter.timer);
            this.pending.delete(requestId!);
            waiter.resolve(event);
          }
        }
      }
    });
  }

  private request<T extends PoolEmitted>(build: (requestId: string) => Parameters<PoolActor['send']>[0]): Promise<T> {
    const requestId = randomUUID();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RequestError(504, 'the pool did not answer in time; try again'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(requestId, { resolve: resolve as (e: PoolEmitted) => void, timer });
      this.actor.send(build(requestId));
    });
  }

  // ---- reads ----

  slots(): SlotView[] {
    return Object.values(this.actor.getSnapshot().context.slots).sort((a, b) => a.type.localeCompare(b.type) || a.index - b.index);
  }

  /** On a cluster engine: every node with its state and how many slots of each state it runs. */
  nodes(): Array<NodeStatus & { slots: Record<SlotState, number> }> {
    const slots = this.slots();
    return Object.values(this.actor.getSnapshot().context.nodes).map((node) => {
      const counts = { available: 0, assigned: 0, failed: 0, stopped: 0 } as Record<SlotState, number>;
      for (const s of slots) if (s.node === node.name) counts[s.state] += 1;
      return { ...node, slots: counts };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  sinceOf(name: string): number | null {
    return this.since.get(name) ?? null;
  }

  counts(): Record<string, Record<SlotState, number>> {
    return countByType(this.slots());
  }

  /** On every container request: a scan of the pool's map, without sorting it. */
  slotOfAssignment(assignmentId: number): SlotView | undefined {
    return Object.values(this.actor.getSnapshot().context.slots).find((s) => s.assignment?.id === assignmentId);
  }

  monitor(): MonitorStatus {
    const { context, value } = this.actor.getSnapshot();
    const monitor = (value as { monitor?: string }).monitor;
    return { paused: context.monitorPaused || monitor === 'paused', intervalMs: context.healthIntervalMs, lastSweep: this.sweeps.at(-1) ?? null };
  }

  recentSweeps(limit = 50): SweepRecord[] {
    return this.sweeps.slice(-limit).reverse();
  }

  // ---- commands ----

  async launch(user: { id: number; username: string }, type: string): Promise<{ slot: SlotView; assignment: Assignment }> {
    if (!typeSpec(this.deps.config, type)) throw new RequestError(400, `unknown container type "${type}"; known: ${Object.keys(this.deps.config.types).join(', ')}`, 'unknown-type');
    const started = this.deps.now();
    const result = await this.request<Extract<PoolEmitted, { type: 'launch.done' }>>((requestId) => ({
      type: 'pool.launch', requestId, kind: type, userId: user.id, username: user.username, at: started,
    }));
    const ms = this.deps.now() - started;
    if (!result.ok) {
      this.emit('launch', { type, ok: false, refusal: result.refusal, ms });
      if (result.refusal === 'error') {
        // The detail (a Docker or database error text) is for the log, never for the caller.
        this.deps.log.error('launch.failed', { type, user: user.username, error: result.message });
        throw new RequestError(503, 'the container could not be handed out; try again in a moment', 'error');
      }
      throw new RequestError(REFUSAL_STATUS[result.refusal], result.message, result.refusal);
    }
    this.emit('launch', { type, ok: true, ms });
    this.deps.log.info('launch.done', { slot: result.slot.name, user: user.username, assignment: result.assignment.id, ms });
    return { slot: result.slot, assignment: result.assignment };
  }

  async release(assignmentId: number): Promise<Assignment> {
    const slot = this.slotOfAssignment(assignmentId);
    if (!slot) throw new RequestError(404, 'no such container');
    const result = await this.request<Extract<PoolEmitted, { type: 'release.done' }>>((requestId) => ({ type: 'pool.release', requestId, name: slot.name, assignmentId }));
    if (!result.ok) throw new RequestError(409, result.message ?? 'release failed');
    this.deps.log.info('release.done', { slot: slot.name, assignment: assignmentId });
    return result.assignment!;
  }

  async resize(type: string, size: number) {
    const result = await this.request<Extract<PoolEmitted, { type: 'resize.done' }>>((requestId) => ({ type: 'pool.resize', requestId, kind: type, size }));
    if (result.added.length === 0 && result.retired.length === 0 && result.message && result.kept === 0) throw new RequestError(400, result.message);
    this.deps.log.info('pool.resized', { type, size, added: result.added.length, retired: result.retired.length, kept: result.kept });
    return result;
  }

  /** Take one free slot out of the pool: its container is removed and the type shrinks by one. */
  async remove(name: string) {
    const result = await this.request<Extract<PoolEmitted, { type: 'remove.done' }>>((requestId) => ({ type: 'pool.remove', requestId, name }));
    if (!result.ok) throw new RequestError(result.message === 'no such container' ? 404 : 409, result.message ?? 'remove failed');
    this.deps.log.info('pool.removed', { slot: name });
  }

  async reinit() {
    const result = await this.request<Extract<PoolEmitted, { type: 'reinit.done' }>>((requestId) => ({ type: 'pool.reinit', requestId }));
    this.deps.log.info('pool.reinit', { recreated: result.recreated.length, skipped: result.skipped.length });
    return result;
  }

  /** The holder used this assignment (files, terminal, logs): it is not idle. */
  touch(assignmentId: number) {
    this.actor.send({ type: 'pool.touch', assignmentId, at: this.deps.now() });
  }

  runHealthCheck(): Promise<SweepRecord> {
    return new Promise((resolve) => {
      this.once('sweep', resolve);
      this.actor.send({ type: 'health.runNow' });
    });
  }

  pauseMonitor() {
    this.actor.send({ type: 'health.pause' });
    return this.monitor();
  }

  resumeMonitor() {
    this.actor.send({ type: 'health.resume' });
    return this.monitor();
  }

  setHealthInterval(seconds: number) {
    if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) throw new RequestError(400, 'interval must be a number of seconds from 1 to 86400');
    this.actor.send({ type: 'health.setInterval', ms: Math.round(seconds * 1000) });
    return this.monitor();
  }

  /** For tests and the benchmark: the exact container options a slot gets. */
  runSpecOf(slot: SlotView) {
    return runSpec(this.deps.config, this.deps.files, slot, typeof this.deps.engine.putFiles === 'function');
  }
}
