/**
 * The pool machines on their own, for model-based tests: the supervisor actor (with the real
 * promise actors of runtime/pool/pool-actors.ts) over the recording fake engine, an in-memory
 * store and in-memory slot files, on a SimulatedClock. No PoolRuntime, no SQLite, no sockets.
 * It records every request and its answers and checks the invariants of the issue.
 */
import { createActor, SimulatedClock } from 'xstate';
import type { PoolEmitted } from '../../../machines/events.ts';
import type { SlotView } from '../../../machines/types.ts';
import { loadConfig, type Config } from '../../../runtime/config.ts';
import { silentLogger } from '../../../runtime/logger.ts';
import { ANSWER_OF, isAnswer, type RequestKind } from '../../../runtime/pool/pending-requests.ts';
import { providePoolMachine, type PoolDeps } from '../../../runtime/pool/pool-actors.ts';
import { reconcileAtStart, typeRanges } from '../../../runtime/pool/reconcile.ts';
import type { SlotFiles } from '../../../runtime/pool/slot-files.ts';
import { StatusMirror } from '../../../runtime/pool/status-mirror.ts';
import { FakeEngine } from '../../fakes/fake-engine.ts';
import { MemorySlotFiles } from '../../fakes/memory-files.ts';
import { MemoryPoolStore } from '../../fakes/memory-store.ts';

export const MODEL_ENV = {
  POOLDECK_DATA: '/nonexistent/model',
  POOLDECK_POOL: 'nginx=3,ssh=1',
  POOLDECK_PORTS_NGINX: '8000-8007',
  POOLDECK_PORTS_SSH: '2200-2202',
  POOLDECK_HEALTH_INTERVAL: '30',
  POOLDECK_IDLE_TTL: '120',
  POOLDECK_MAX_LIFETIME: '300',
  POOLDECK_EXPIRY_WARNING: '30',
  POOLDECK_USER_LIMIT: '2',
};

export const TYPES = ['nginx', 'ssh'] as const;
export const USERS = [
  { id: 1, username: 'ann' },
  { id: 2, username: 'bob' },
  { id: 3, username: 'cy' },
];
const MARKER = 'owner.txt';

type PoolActor = ReturnType<typeof createActor<ReturnType<typeof providePoolMachine>>>;

interface Holding {
  slot: string;
  hostPort: number;
}

export class ModelPool {
  readonly config: Config = loadConfig(MODEL_ENV);
  readonly engine = new FakeEngine();
  readonly store = new MemoryPoolStore();
  readonly files = new MemorySlotFiles();
  /** Last size asked for, per type. */
  readonly sizes: Record<string, number> = { ...this.config.sizes };
  readonly violations: string[] = [];
  /** Every request sent: its kind, how many answers it got, whether a restart dropped it. */
  readonly requests = new Map<string, { kind: RequestKind; answers: number; dropped: boolean; slotType?: string }>();
  /** Where each assignment the model knows of lives (port and slot), as its holder was told. */
  readonly holdings = new Map<number, Holding>();
  clock = new SimulatedClock();
  actor!: PoolActor;
  private mirror!: StatusMirror;
  private wall = 1_800_000_000_000;
  private nextRequest = 1;
  private unwatch: (() => void) | null = null;

  get deps(): PoolDeps {
    return {
      config: this.config,
      engine: this.engine,
      store: this.store,
      files: this.files as unknown as SlotFiles,
      log: silentLogger,
      now: () => this.wall,
      clock: this.clock,
      userKeys: async () => [],
    };
  }

  now() {
    return this.wall;
  }

  /** Reconcile and start a supervisor over the engine, store and files (at start and after a restart). */
  async boot() {
    const deps = this.deps;
    const { slots } = await reconcileAtStart(deps);
    const { config } = this;
    this.actor = createActor(providePoolMachine(deps), {
      clock: this.clock,
      input: {
        slots,
        ranges: typeRanges(config),
        healthIntervalMs: Number(this.store.settings.get('health_interval_ms')) || config.healthIntervalMs,
        perUserLimit: config.perUserLimit,
        monitorPaused: this.store.settings.get('monitor_paused') === 'true',
        expiry: { idleTtlMs: config.policy.idleTtlMs, maxLifetimeMs: config.policy.maxLifetimeMs, warnMs: config.policy.warnMs },
        elastic: config.policy.elastic,
        baseSizes: this.config.sizes,
      },
    });
    this.mirror = new StatusMirror(this.store, silentLogger, () => this.wall);
    this.mirror.start(Object.values(this.actor.getSnapshot().context.slots));
    this.actor.on('*', (event: PoolEmitted) => {
      this.mirror.record(event);
      this.observe(event);
    });
    this.actor.start();
    this.unwatch = this.engine.watch((e) => this.actor.send({ type: 'docker.event', action: e.action, containerId: e.containerId, name: e.name, at: e.at }));
    await this.settle();
  }

  /** The runtime process dies and starts again: a new actor system adopts the same engine and store. */
  async restart() {
    this.unwatch?.();
    this.actor.stop();
    for (const request of this.requests.values()) if (request.answers === 0) request.dropped = true;
    // Work the old process had under way stops at its next step (its promise actors were aborted).
    this.engine.releaseRuns();
    await this.settle();
    await this.mirror.flush();
    this.clock = new SimulatedClock();
    // The sizes come back from the configuration, as in PoolRuntime.start: a resize lasts until
    // the process restarts (docs/cli.md, pool resize).
    Object.assign(this.sizes, this.config.sizes);
    await this.boot();
  }

  /** Let every promise chain finish (the fakes never wait on real I/O). */
  async settle() {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    await this.mirror?.flush();
  }

  async advance(ms: number) {
    this.wall += ms;
    this.clock.increment(ms);
    await this.settle();
  }

  request<K extends RequestKind>(kind: K, send: (requestId: string) => void, slotType?: string) {
    const requestId = `r${this.nextRequest++}`;
    this.requests.set(requestId, { kind, answers: 0, dropped: false, slotType });
    send(requestId);
    return requestId;
  }

  slots(): SlotView[] {
    return Object.values(this.actor.getSnapshot().context.slots).sort((a, b) => a.name.localeCompare(b.name));
  }

  held(): SlotView[] {
    return this.slots().filter((s) => s.assignment && s.assignment.id > 0);
  }

  private observe(event: PoolEmitted) {
    if (isAnswer(event)) {
      const request = this.requests.get(event.requestId);
      if (!request) return this.violations.push(`answer ${event.type} for a request never sent (${event.requestId})`);
      request.answers += 1;
      if (request.answers > 1) this.violations.push(`${request.kind} ${event.requestId} answered ${request.answers} times`);
      if (ANSWER_OF[request.kind] !== event.type) this.violations.push(`${request.kind} ${event.requestId} answered with ${event.type}`);
    }
    switch (event.type) {
      case 'launch.done':
        if (event.ok) {
          this.holdings.set(event.assignment.id, { slot: event.slot.name, hostPort: event.slot.hostPort });
          // The holder uploads a file at once.
          this.files.write(event.slot.name, MARKER, String(event.assignment.id));
        }
        break;
      case 'assignment.moved': {
        const holding = this.holdings.get(event.assignment.id);
        const to = this.actor.getSnapshot().context.slots[event.to];
        if (holding && to) Object.assign(holding, { slot: to.name, hostPort: to.hostPort });
        break;
      }
      case 'remove.done': {
        const type = this.requests.get(event.requestId)?.slotType;
        if (event.ok && type) this.sizes[type] = Math.max(0, (this.sizes[type] ?? 1) - 1);
        break;
      }
      case 'resize.done':
        if (event.added.length || event.retired.length || event.kept || !event.message) this.sizes[event.kind] = event.size;
        break;
      default:
        break;
    }
  }

  /** Invariants that hold after every step, settled or not. */
  checkAlways(step: string) {
    const problems: string[] = [...this.violations];
    const slots = this.slots();
    const byAssignment = new Map<number, string>();
    const byContainer = new Map<string, string>();
    for (const slot of slots) {
      const a = slot.assignment;
      if (!a || a.id === 0) continue;
      const other = byAssignment.get(a.id);
      if (other) problems.push(`assignment ${a.id} is held by ${other} and ${slot.name}`);
      byAssignment.set(a.id, slot.name);
      if (slot.containerId && (slot.state === 'assigned' && slot.phase === 'serving')) {
        const twice = byContainer.get(slot.containerId);
        if (twice) problems.push(`container ${slot.containerId} is handed to ${twice} and ${slot.name}`);
        byContainer.set(slot.containerId, slot.name);
      }
    }
    const storeSlots = new Map<string, number>();
    for (const entry of this.store.active()) {
      const other = storeSlots.get(entry.slot);
      if (other !== undefined) problems.push(`store: ${entry.slot} holds assignments ${other} and ${entry.id}`);
      storeSlots.set(entry.slot, entry.id);
    }
    if (problems.length) throw new Error(`after ${step}: ${problems.join('; ')}`);
  }

  /** Invariants of a settled pool: answers given, holders keep port and files, store and actors agree. */
  async checkSettled(step: string) {
    await this.settle();
    this.checkAlways(step);
    const problems: string[] = [];
    for (const [id, request] of this.requests) {
      if (request.answers === 0 && !request.dropped) problems.push(`${request.kind} ${id} was never answered`);
    }
    const slots = this.slots();
    for (const slot of slots) {
      const a = slot.assignment;
      if (a && a.id > 0 && (slot.phase === 'serving' || slot.state === 'failed')) {
        let holding = this.holdings.get(a.id);
        if (!holding) {
          // A launch whose answer a restart swallowed: the assignment was stored, its holder never told.
          holding = { slot: slot.name, hostPort: slot.hostPort };
          this.holdings.set(a.id, holding);
          this.files.write(slot.name, MARKER, String(a.id));
        }
        if (holding.hostPort !== slot.hostPort) problems.push(`assignment ${a.id} moved from port ${holding.hostPort} to ${slot.hostPort} unannounced`);
        const marker = this.files.read(slot.name, MARKER);
        if (marker !== String(a.id)) problems.push(`${slot.name} (assignment ${a.id}) lost its holder's files (has ${marker ?? 'none'})`);
      }
      if (slot.state === 'available' && slot.phase === 'ready' && this.files.read(slot.name, MARKER) !== undefined) {
        problems.push(`${slot.name} is free but still has a previous holder's files`);
      }
    }
    if (this.engine.runsHeld === 0) {
      const viewHeld = new Map(slots.filter((s) => s.assignment && s.assignment.id > 0).map((s) => [s.assignment!.id, s.name]));
      const storeHeld = new Map(this.store.active().map((e) => [e.id, e.slot]));
      if (JSON.stringify([...viewHeld].sort()) !== JSON.stringify([...storeHeld].sort())) {
        problems.push(`held: actors ${JSON.stringify([...viewHeld])} vs store ${JSON.stringify([...storeHeld])}`);
      }
      const names = new Set(slots.map((s) => s.name));
      for (const [name, row] of this.store.rows) {
        if (!names.has(name)) problems.push(`store has a row for ${name}, which is no slot`);
        const view = slots.find((s) => s.name === name);
        if (view && row.status !== view.state) problems.push(`store says ${name} is ${row.status}, the actors ${view.state}`);
      }
      for (const name of this.files.dirs.keys()) if (!names.has(name)) problems.push(`files directory left for ${name}, which is no slot`);
    }
    if (problems.length) throw new Error(`after ${step}: ${problems.join('; ')}`);
  }

  /** The end of a run: free everything, let the clock run, and check that the pool converged. */
  async converge() {
    this.engine.releaseRuns();
    this.engine.failRuns = 0;
    this.store.failReleases = 0;
    this.actor.send({ type: 'health.resume' });
    for (let round = 0; round < 20 && this.held().length; round++) {
      for (const slot of this.held()) {
        this.request('release', (requestId) => this.actor.send({ type: 'pool.release', requestId, name: slot.name, assignmentId: slot.assignment!.id }));
      }
      await this.advance(30_000);
    }
    for (let i = 0; i < 20; i++) await this.advance(30_000);
    await this.checkSettled('the clock ran');
    const problems: string[] = [];
    const slots = this.slots();
    for (const type of TYPES) {
      const count = slots.filter((s) => s.type === type).length;
      if (count !== this.sizes[type]) problems.push(`${type}: ${count} slots, asked for ${this.sizes[type]}`);
    }
    for (const slot of slots) {
      if (slot.state !== 'available' || slot.phase !== 'ready') problems.push(`${slot.name} is ${slot.state}/${slot.phase}`);
      const container = slot.containerId ? this.engine.containers.get(slot.containerId) : undefined;
      if (!container || !container.running || container.name !== slot.name) problems.push(`${slot.name} has no running container of its own`);
    }
    const names = slots.map((s) => s.name).sort();
    const containers = [...this.engine.containers.values()].map((c) => c.name).sort();
    if (JSON.stringify(containers) !== JSON.stringify(names)) problems.push(`containers ${JSON.stringify(containers)} vs slots ${JSON.stringify(names)}`);
    const rows = [...this.store.rows.keys()].sort();
    if (JSON.stringify(rows) !== JSON.stringify(names)) problems.push(`rows ${JSON.stringify(rows)} vs slots ${JSON.stringify(names)}`);
    if (problems.length) throw new Error(`after the clock ran: ${problems.join('; ')}`);
  }

  stop() {
    this.unwatch?.();
    this.actor.stop();
  }
}
