/**
 * The pool's memory in SQLite, written from what the supervisor emits. This is the ONE writer of
 * `containers.status`/`phase` (the promise actors write a slot's identity and container id, never
 * its state). Writes are serialised, so a row's status never goes backwards, and a failed write
 * is logged, never thrown into the actor.
 */
import type { PoolEmitted } from '../../machines/events.ts';
import type { SlotView } from '../../machines/types.ts';
import type { Logger } from '../logger.ts';
import type { PoolStore } from '../store/pool-store.ts';
import { sweepRecord, type RestartedEvent } from './runtime-events.ts';

export class StatusMirror {
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: PoolStore,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** The state of every slot when the supervisor starts (rows may hold a previous run's state). */
  start(slots: Iterable<SlotView>) {
    for (const slot of slots) this.status(slot);
  }

  /** Resolves once every write queued so far is done. */
  flush(): Promise<unknown> {
    return this.writes;
  }

  /** A held slot back after an admin's restart or recreate: its own kind of event, not a recovery. */
  recordRestart(event: RestartedEvent) {
    this.write('event', () => this.store.logEvent('restart', { slot: event.name, userId: event.assignment.userId, detail: { kind: event.kind, by: event.by.username, durationMs: event.durationMs, attempts: event.attempts, containerId: event.containerId.slice(0, 12) } }));
  }

  record(event: PoolEmitted) {
    const { store } = this;
    switch (event.type) {
      case 'slot.updated': {
        const slot = event.slot;
        this.status(slot);
        this.write('event', () => store.logEvent('state', { slot: slot.name, userId: slot.assignment?.userId, detail: { state: slot.state, phase: slot.phase, containerId: slot.containerId?.slice(0, 12), error: slot.error } }));
        break;
      }
      case 'recovery.done':
        this.write('event', () => store.logEvent('recovery', { slot: event.name, userId: event.assignment.userId, detail: { durationMs: event.durationMs, attempts: event.attempts, containerId: event.containerId.slice(0, 12) } }));
        break;
      case 'assignment.moved':
        this.write('event', () => store.logEvent('moved', { slot: event.to, userId: event.assignment.userId, detail: { from: event.from, to: event.to } }));
        break;
      case 'assignment.stranded':
        this.write('event', () => store.logEvent('stranded', { slot: event.name, userId: event.assignment.userId, detail: { message: event.message } }));
        break;
      case 'health.swept':
      case 'health.failed': {
        const record = sweepRecord(event, this.now());
        this.write('event', () => store.logEvent('health', { detail: { ...record } }));
        break;
      }
      case 'assignment.expired':
        this.write('event', () => store.logEvent('expired', { slot: event.name, userId: event.assignment.userId, detail: { reason: event.reason, assignment: event.assignment.id } }));
        break;
      case 'monitor.changed':
        this.write('setting', () => store.setSetting('health_interval_ms', String(event.intervalMs)));
        this.write('setting', () => store.setSetting('monitor_paused', String(event.paused)));
        break;
      default:
        break;
    }
  }

  private status(slot: SlotView) {
    this.write('status', () => this.store.setStatus(slot.name, slot.state, slot.phase, slot.containerId));
  }

  private write(what: string, fn: () => Promise<unknown>) {
    this.writes = this.writes.then(fn).catch((error) => this.log.error('store.write_failed', { what, error: String(error) }));
  }
}
