/**
 * The running pool: the one place callers (HTTP, socket.io, CLI, tests) talk to the supervisor.
 * It starts the supervisor on a reconciled pool (`reconcile.ts`), feeds it Docker's event
 * stream, fans out what it emits to listeners, has it mirrored into SQLite (`status-mirror.ts`),
 * and turns requests into actor events with awaited, correlated answers (`pending-requests.ts`).
 * Refusals are RequestErrors (`../http/request-error.ts`).
 */
import { EventEmitter } from 'node:events';
import { createActor, type Actor } from 'xstate';
import type { PoolEmitted } from '../../machines/pool.machine.ts';
import { countByType } from '../../machines/pool.logic.ts';
import type { Assignment, SlotState, SlotView, TypeRange } from '../../machines/types.ts';
import { EngineError } from '../docker/engine.ts';
import { launchRefused, RequestError } from '../http/request-error.ts';
import { Interventions, type InterventionKind } from './interventions.ts';
import { PendingRequests, isAnswer } from './pending-requests.ts';
import { providePoolMachine, runSpec, type PoolDeps } from './pool-actors.ts';
import { typeSpec } from '../config.ts';
import { reconcileAtStart, typeRanges } from './reconcile.ts';
import { sweepRecord, type MonitorStatus, type NodeCounts, type ReinitResult, type ResizeResult, type RestartedEvent, type RuntimeEvents, type SweepRecord } from './runtime-events.ts';
import { StatusMirror } from './status-mirror.ts';

export type { MonitorStatus, NodeCounts, ReinitResult, ResizeResult, RestartedEvent, RuntimeEvents, SweepRecord } from './runtime-events.ts';

export type PoolActor = Actor<ReturnType<typeof providePoolMachine>>;

export class PoolRuntime extends EventEmitter<RuntimeEvents> {
  actor!: PoolActor;
  private readonly pending: PendingRequests;
  private readonly mirror: StatusMirror;
  private readonly since = new Map<string, number>();
  private readonly sweeps: SweepRecord[] = [];
  private readonly interventions: Interventions;
  private stopWatching: (() => void) | null = null;

  constructor(readonly deps: PoolDeps) {
    super();
    this.setMaxListeners(0);
    this.pending = new PendingRequests(deps.log);
    this.mirror = new StatusMirror(deps.store, deps.log, deps.now);
    this.interventions = new Interventions(deps.now);
  }

  get ranges(): Record<string, TypeRange> {
    return typeRanges(this.deps.config);
  }

  /** Reconcile, start the supervisor, and resolve once every slot has settled (with progress logs). */
  async start(options: { settleTimeoutMs?: number } = {}): Promise<void> {
    const { config, engine, store, log } = this.deps;
    const { slots, nodes } = await reconcileAtStart(this.deps);
    const interval = Number(await store.getSetting('health_interval_ms')) || config.healthIntervalMs;
    const paused = (await store.getSetting('monitor_paused')) === 'true';
    this.actor = createActor(providePoolMachine(this.deps), {
      input: {
        slots,
        ranges: this.ranges,
        healthIntervalMs: interval,
        perUserLimit: config.perUserLimit,
        monitorPaused: paused,
        expiry: { idleTtlMs: config.policy.idleTtlMs, maxLifetimeMs: config.policy.maxLifetimeMs, warnMs: config.policy.warnMs },
        elastic: config.policy.elastic,
        baseSizes: config.sizes,
        ...(nodes ? { nodes } : {}),
      },
      inspect: (event) => this.emit('inspect', event),
      ...(this.deps.clock ? { clock: this.deps.clock } : {}),
    });
    this.mirror.start(Object.values(this.actor.getSnapshot().context.slots));
    this.followNodes();
    this.actor.on('*', (event: PoolEmitted) => {
      // The rebuild after an admin's restart or recreate is not a recovery (interventions.ts).
      const intervention = event.type === 'recovery.done' ? this.interventions.claim(event.name) : null;
      if (event.type === 'recovery.done' && intervention) {
        const restarted: RestartedEvent = { ...event, kind: intervention.kind, by: intervention.by };
        this.mirror.recordRestart(restarted);
        log.info('slot.restarted', { slot: event.name, kind: intervention.kind, by: intervention.by.username, assignment: event.assignment.id, durationMs: event.durationMs });
        this.emit('restarted', restarted);
        return;
      }
      this.mirror.record(event);
      this.announce(event);
    });
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
    this.pending.cancelAll('the pool is stopping');
    await this.mirror.flush();
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

  /** Tell listeners when a node's state, host or ports change (the sweep's node list repeats itself: only changes count). */
  private followNodes() {
    let seen: unknown = null;
    let key = '';
    this.actor.subscribe({
      next: (snapshot) => {
        const nodes = snapshot.context.nodes;
        if (nodes === seen) return;
        seen = nodes;
        const now = JSON.stringify(Object.values(nodes).sort((a, b) => a.name.localeCompare(b.name)));
        if (now === key) return;
        key = now;
        this.emit('nodes', this.nodes());
      },
    });
  }

  /** Tell listeners and the log what the supervisor emitted; settle the request it answers. */
  private announce(event: PoolEmitted) {
    const { log, now } = this.deps;
    if (isAnswer(event)) {
      this.pending.settle(event);
      return;
    }
    switch (event.type) {
      case 'slot.updated': {
        const slot = event.slot;
        const since = now();
        this.since.set(slot.name, since);
        this.interventions.slotChanged(slot);
        log.debug('slot.state', { slot: slot.name, state: slot.state, phase: slot.phase });
        this.emit('slot', { ...slot, since });
        break;
      }
      case 'slot.removed':
        this.since.delete(event.name);
        this.interventions.slotRemoved(event.name);
        this.emit('slot.removed', event.name);
        break;
      case 'recovery.done':
        log.info('recovery.done', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, durationMs: event.durationMs, attempts: event.attempts });
        this.emit('recovery', event);
        break;
      case 'assignment.moved':
        log.warn('assignment.moved', { from: event.from, to: event.to, assignment: event.assignment.id });
        this.emit('moved', event);
        break;
      case 'assignment.stranded':
        log.error('assignment.stranded', { slot: event.name, message: event.message });
        this.emit('stranded', event);
        break;
      case 'health.swept':
      case 'health.failed': {
        const record = sweepRecord(event, now());
        this.sweeps.push(record);
        if (this.sweeps.length > 200) this.sweeps.shift();
        const level = record.error || record.findings.length || record.orphans.length ? 'warn' : 'debug';
        log[level]('health.sweep', { durationMs: record.durationMs, containers: record.containers, findings: record.findings.length, orphans: record.orphans.length, error: record.error });
        this.emit('sweep', record);
        break;
      }
      case 'assignment.expiring':
        log.info('assignment.expiring', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, reason: event.reason, deadline: new Date(event.deadline).toISOString() });
        this.emit('expiring', event);
        break;
      case 'assignment.expired':
        log.info('assignment.expired', { slot: event.name, assignment: event.assignment.id, user: event.assignment.username, reason: event.reason });
        this.emit('expired', event);
        break;
      case 'assignment.expiryFailed':
        log.warn('assignment.expiry_failed', { slot: event.name, reason: event.reason, message: event.message });
        break;
      case 'pool.scaled':
        log.info('pool.scaled', { added: event.added, retired: event.retired });
        break;
      case 'monitor.changed':
        log.info('monitor.changed', { paused: event.paused, intervalMs: event.intervalMs });
        this.emit('monitor', this.monitor());
        break;
    }
  }

  // ---- reads ----

  slots(): SlotView[] {
    return Object.values(this.actor.getSnapshot().context.slots).sort((a, b) => a.type.localeCompare(b.type) || a.index - b.index);
  }

  /** On a cluster engine: every node with its state and how many slots of each state it runs. */
  nodes(): NodeCounts[] {
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
    const result = await this.pending.ask('launch', (requestId) =>
      this.actor.send({ type: 'pool.launch', requestId, kind: type, userId: user.id, username: user.username, at: started }),
    );
    const ms = this.deps.now() - started;
    if (!result.ok) {
      this.emit('launch', { type, ok: false, refusal: result.refusal, ms });
      if (result.refusal === 'error') {
        // The detail (a Docker or database error text) is for the log, never for the caller.
        this.deps.log.error('launch.failed', { type, user: user.username, error: result.message });
        throw new RequestError(503, 'the container could not be handed out; try again in a moment', 'error');
      }
      throw launchRefused(result.refusal, result.message);
    }
    this.emit('launch', { type, ok: true, ms });
    this.deps.log.info('launch.done', { slot: result.slot.name, user: user.username, assignment: result.assignment.id, ms });
    return { slot: result.slot, assignment: result.assignment };
  }

  async release(assignmentId: number): Promise<Assignment> {
    const slot = this.slotOfAssignment(assignmentId);
    if (!slot) throw new RequestError(404, 'no such container');
    const result = await this.pending.ask('release', (requestId) => this.actor.send({ type: 'pool.release', requestId, name: slot.name, assignmentId }));
    if (result.failed) {
      // What broke (Docker's or SQLite's words) is for the operator's log, never for the asker.
      this.deps.log.error('release.failed', { slot: slot.name, assignment: assignmentId, error: result.message });
      throw new RequestError(503, `could not release ${slot.name} right now; it is still yours, try again in a moment`);
    }
    if (!result.ok || !result.assignment) throw new RequestError(409, result.message ?? 'release failed');
    this.deps.log.info('release.done', { slot: slot.name, assignment: assignmentId });
    return result.assignment;
  }

  async resize(type: string, size: number): Promise<ResizeResult> {
    const { type: _answer, requestId: _id, ...result } = await this.pending.ask('resize', (requestId) => this.actor.send({ type: 'pool.resize', requestId, kind: type, size }));
    if (result.added.length === 0 && result.retired.length === 0 && result.message && result.kept === 0) throw new RequestError(400, result.message);
    this.deps.log.info('pool.resized', { type, size, added: result.added.length, retired: result.retired.length, kept: result.kept });
    return result;
  }

  /** Take one free slot out of the pool: its container is removed and the type shrinks by one. */
  async remove(name: string): Promise<void> {
    const result = await this.pending.ask('remove', (requestId) => this.actor.send({ type: 'pool.remove', requestId, name }));
    if (!result.ok) throw new RequestError(result.message === 'no such container' ? 404 : 409, result.message ?? 'remove failed');
    this.deps.log.info('pool.removed', { slot: name });
  }

  async reinit(): Promise<ReinitResult> {
    const { type: _answer, requestId: _id, ...result } = await this.pending.ask('reinit', (requestId) => this.actor.send({ type: 'pool.reinit', requestId }));
    this.deps.log.info('pool.reinit', { recreated: result.recreated.length, skipped: result.skipped.length });
    return result;
  }

  /**
   * An admin restarts (stops) or recreates (removes) one slot's container through Docker; the
   * slot's actor brings it back as it does a dead one (a held one in place, with its files).
   * That rebuild is reported as `restarted`, not as a recovery.
   */
  async intervene(kind: InterventionKind, name: string, by: { id: number; username: string }): Promise<SlotView> {
    const slot = this.slots().find((s) => s.name === name);
    if (!slot) throw new RequestError(404, 'no such container');
    const containerId = slot.containerId;
    if (slot.state === 'stopped' || slot.state === 'failed' || !containerId) throw new RequestError(409, `${slot.name} is busy (${slot.state}, ${slot.phase || 'no container'}); try again when it settles`);
    this.interventions.expect({ name, kind, by: { id: by.id, username: by.username }, at: this.deps.now() });
    try {
      if (kind === 'restart') await this.deps.engine.stop(containerId);
      else await this.deps.engine.remove(containerId);
    } catch (error) {
      this.interventions.cancel(name);
      if (error instanceof EngineError) throw new RequestError(409, error.message);
      throw error;
    }
    this.deps.log.info(kind === 'restart' ? 'admin.restarted' : 'admin.recreated', { admin: by.username, slot: name, container: containerId.slice(0, 12) });
    return slot;
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
