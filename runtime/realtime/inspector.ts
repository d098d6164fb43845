/**
 * Turns XState's raw inspection stream (every actor of the pool: the supervisor, one machine
 * per slot, and their short-lived promise actors) into a registry of JSON-safe actor states
 * with their recent events, and into batches of changes for live viewers.
 *
 * Raw snapshots hold actor refs, functions and secrets (SSH passwords); nothing leaves this
 * module without passing through `jsonSafe`, which drops functions, replaces refs by their id,
 * breaks cycles, truncates, and redacts secret-looking keys. Serialisation is lazy: an event
 * only marks its actor dirty, and `flush()` serialises each dirty actor once.
 */
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import type { ActorStatus, InspectActor, InspectActorState, InspectBatch, InspectRecord, InspectSnapshot, MachineGraph } from '../../shared/events.ts';
import { machineGraph } from './machine-graph.ts';
import { stateText } from '../../shared/pool.ts';

const SECRET_KEY = /pass(word)?|secret|token|credential|cookie|authorization|^keys$/i;

export interface JsonSafeOptions {
  depth?: number;
  maxArray?: number;
  maxString?: number;
  maxKeys?: number;
}

const isActorRef = (v: object): v is AnyActorRef =>
  'sessionId' in v && typeof (v as { send?: unknown }).send === 'function';

/** A copy of `value` that JSON.stringify accepts and that holds no secrets or actor internals. */
export function jsonSafe(value: unknown, options: JsonSafeOptions = {}): unknown {
  const { depth = 6, maxArray = 100, maxString = 400, maxKeys = 100 } = options;
  const seen = new WeakSet<object>();
  const visit = (v: unknown, level: number): unknown => {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'string') return v.length > maxString ? v.slice(0, maxString) + '…' : v;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'undefined' || typeof v === 'function' || typeof v === 'symbol') return undefined;
    const obj = v as object;
    if (isActorRef(obj)) return { $actor: obj.id };
    if (obj instanceof Error) return { error: obj.message };
    if (obj instanceof Date) return obj.toISOString();
    if (seen.has(obj)) return '[circular]';
    if (level >= depth) return '[…]';
    seen.add(obj);
    try {
      if (obj instanceof Map) return visit(Object.fromEntries(obj), level);
      if (obj instanceof Set) return visit([...obj], level);
      if (ArrayBuffer.isView(obj)) return `[${obj.byteLength} bytes]`;
      if (Array.isArray(obj)) {
        const items = obj.slice(0, maxArray).map((item) => visit(item, level + 1) ?? null);
        if (obj.length > maxArray) items.push(`… ${obj.length - maxArray} more`);
        return items;
      }
      const out: Record<string, unknown> = {};
      const keys = Object.keys(obj);
      for (const key of keys.slice(0, maxKeys)) {
        if (SECRET_KEY.test(key)) {
          const raw = (obj as Record<string, unknown>)[key];
          if (raw !== null && raw !== undefined) out[key] = '[redacted]';
          continue;
        }
        const item = visit((obj as Record<string, unknown>)[key], level + 1);
        if (item !== undefined) out[key] = item;
      }
      if (keys.length > maxKeys) out['…'] = `${keys.length - maxKeys} more keys`;
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return visit(value, 0);
}


interface Entry {
  ref: AnyActorRef;
  id: string;
  name: string;
  parent: string | null;
  machine: string | null;
  src: string;
  startedAt: number;
  updatedAt: number;
  snapshot: { status?: string; value?: unknown; context?: unknown; input?: unknown; output?: unknown; error?: unknown } | null;
  records: InspectRecord[];
  endedAt: number | null;
}

export interface InspectorOptions {
  /** The machines whose drawings viewers get, keyed by machine id. */
  machines: AnyStateMachine[];
  now?: () => number;
  /** Records kept per actor. */
  history?: number;
  /** How long a finished actor stays visible before it is forgotten. */
  keepEndedMs?: number;
}

export class Inspector {
  readonly machines: Record<string, MachineGraph>;
  private readonly entries = new Map<string, Entry>();
  private readonly sources = new WeakMap<object, string>();
  private readonly dirty = new Set<string>();
  private readonly fresh: InspectRecord[] = [];
  private readonly removed = new Set<string>();
  private seq = 0;
  private readonly now: () => number;
  private readonly history: number;
  private readonly keepEndedMs: number;

  constructor(options: InspectorOptions) {
    this.machines = Object.fromEntries(options.machines.map((m) => [m.id, machineGraph(m)]));
    this.now = options.now ?? Date.now;
    this.history = options.history ?? 40;
    this.keepEndedMs = options.keepEndedMs ?? 30_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Feed one raw inspection event. Cheap: no serialisation happens here. */
  observe(event: InspectionEvent): void {
    switch (event.type) {
      case '@xstate.actor':
        this.register(event.actorRef as AnyActorRef, event.rootId);
        break;
      case '@xstate.event': {
        const source = event.sourceRef as AnyActorRef | undefined;
        if (source) this.sources.set(event.event, source.sessionId);
        // An actor's start is the one event its parent sends it: XState's public account of who spawned whom.
        if (event.event.type === 'xstate.init') {
          const entry = this.register(event.actorRef as AnyActorRef, event.rootId);
          this.setParent(entry, source?.sessionId ?? null);
        }
        break;
      }
      case '@xstate.snapshot': {
        const entry = this.entries.get((event.actorRef as AnyActorRef).sessionId) ?? this.register(event.actorRef as AnyActorRef, event.rootId);
        const previous = entry.snapshot;
        entry.snapshot = event.snapshot as Entry['snapshot'];
        entry.updatedAt = this.now();
        const state = this.stateOf(entry);
        const before = previous ? this.stateOf({ ...entry, snapshot: previous }) : null;
        const status = entry.snapshot?.status;
        if (status && status !== 'active' && entry.endedAt === null) entry.endedAt = entry.updatedAt;
        const record: InspectRecord = {
          seq: ++this.seq,
          at: entry.updatedAt,
          actor: entry.id,
          type: this.eventName(entry, event.event.type),
          source: this.sourceName(event.event),
          state,
          changed: before !== state,
          detail: event.event,
        };
        entry.records.push(record);
        if (entry.records.length > this.history) entry.records.shift();
        this.fresh.push(record);
        if (this.fresh.length > 2000) this.fresh.shift();
        this.dirty.add(entry.id);
        break;
      }
      default:
        break;
    }
  }

  /** Register an actor tree that was started before this inspector listened. */
  adopt(root: AnyActorRef): void {
    const visit = (ref: AnyActorRef, parent: string | null) => {
      const entry = this.register(ref, root.sessionId);
      this.setParent(entry, parent);
      const snapshot = ref.getSnapshot() as Entry['snapshot'] & { children?: Record<string, AnyActorRef | undefined> };
      if (!entry.snapshot) entry.snapshot = snapshot;
      for (const child of Object.values(snapshot?.children ?? {})) if (child) visit(child, entry.id);
    };
    visit(root, null);
  }

  /** XState's internal event names made readable: `done: persistAssignment`, `after retryDelay`. */
  private eventName(entry: Entry, type: string): string {
    const settled = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    if (settled) {
      let src = settled[2];
      for (const other of this.entries.values()) {
        if (other.parent === entry.id && other.name === settled[2]) src = other.src;
      }
      return `${settled[1]}: ${src}`;
    }
    const after = /^xstate\.after\.([^.]+)\./.exec(type);
    if (after) return `after ${after[1]}`;
    return type;
  }

  private sourceName(event: object): string | null {
    const sessionId = this.sources.get(event);
    if (!sessionId) return null;
    const source = this.entries.get(sessionId);
    if (!source) return sessionId;
    return source.machine ? source.name : source.src;
  }

  /** The actor's entry, made on first sight; its parent is filled in by `setParent` once known. */
  private register(ref: AnyActorRef, rootId: string): Entry {
    const existing = this.entries.get(ref.sessionId);
    if (existing) return existing;
    const logic = (ref as unknown as { logic?: { id?: string; root?: unknown } }).logic;
    const machine = logic && 'root' in logic && typeof logic.id === 'string' ? logic.id : null;
    const src = (ref as unknown as { src?: unknown }).src;
    const entry: Entry = {
      ref,
      id: ref.sessionId,
      // A root actor's id is its session id; its machine's id reads better.
      name: ref.sessionId === rootId && machine ? machine : ref.id,
      parent: null,
      machine: machine && this.machines[machine] ? machine : null,
      src: typeof src === 'string' ? src : (machine ?? 'actor'),
      startedAt: this.now(),
      updatedAt: this.now(),
      snapshot: null,
      records: [],
      endedAt: null,
    };
    this.entries.set(entry.id, entry);
    this.removed.delete(entry.id);
    this.dirty.add(entry.id);
    return entry;
  }

  private setParent(entry: Entry, parent: string | null): void {
    if (entry.parent === parent) return;
    entry.parent = parent;
    this.dirty.add(entry.id);
  }

  private stateOf(entry: Pick<Entry, 'machine' | 'snapshot'>): string {
    const status = entry.snapshot?.status ?? 'active';
    if (entry.machine && entry.snapshot && 'value' in entry.snapshot) {
      const text = stateText(entry.snapshot.value);
      return status === 'active' ? text : `${text} (${status})`;
    }
    return status;
  }

  private statusOf(entry: Entry): ActorStatus {
    const status = entry.snapshot?.status;
    if (status === 'done' || status === 'error' || status === 'stopped') return status;
    return entry.endedAt !== null ? 'stopped' : 'active';
  }

  private view(entry: Entry): InspectActorState {
    const snap = entry.snapshot;
    const context = entry.machine ? snap?.context : { input: snap?.input, output: snap?.output, error: snap?.error };
    return {
      id: entry.id,
      name: entry.name,
      parent: entry.parent,
      machine: entry.machine,
      src: entry.src,
      status: this.statusOf(entry),
      value: entry.machine ? jsonSafe(snap?.value ?? null) : null,
      context: jsonSafe(context),
      startedAt: entry.startedAt,
      updatedAt: entry.updatedAt,
    };
  }

  private safeRecord(record: InspectRecord): InspectRecord {
    return { ...record, detail: jsonSafe(record.detail, { depth: 4, maxString: 200, maxArray: 20 }) };
  }

  /** Every known actor with its recent records; also clears pending changes. */
  snapshot(): InspectSnapshot {
    this.prune();
    return {
      machines: this.machines,
      actors: [...this.entries.values()].map((e): InspectActor => ({ ...this.view(e), events: e.records.map((r) => this.safeRecord(r)) })),
      seq: this.seq,
    };
  }

  /** Changes since the previous call, or null when nothing changed. */
  flush(): InspectBatch | null {
    this.prune();
    if (this.dirty.size === 0 && this.fresh.length === 0 && this.removed.size === 0) return null;
    const batch: InspectBatch = {
      actors: [...this.dirty].flatMap((id) => {
        const entry = this.entries.get(id);
        return entry ? [this.view(entry)] : [];
      }),
      records: this.fresh.map((r) => this.safeRecord(r)),
      removed: [...this.removed],
    };
    this.dirty.clear();
    this.fresh.length = 0;
    this.removed.clear();
    return batch;
  }

  /** Forget pending changes without serialising them (nobody is watching). */
  discardPending(): void {
    this.prune();
    this.dirty.clear();
    this.fresh.length = 0;
    this.removed.clear();
  }

  /**
   * Notice actors that stopped without a final snapshot (an invoked actor whose state was
   * left, a child stopped by its parent) and forget actors that ended a while ago.
   */
  private prune(): void {
    const now = this.now();
    for (const entry of this.entries.values()) {
      if (entry.endedAt === null && entry.parent !== null) {
        const parent = this.entries.get(entry.parent);
        const children = (parent?.ref.getSnapshot() as { children?: Record<string, unknown> } | undefined)?.children;
        const attached = parent && parent.endedAt === null && children?.[entry.name] === entry.ref;
        if (!attached) {
          entry.endedAt = now;
          this.dirty.add(entry.id);
        }
      } else if (entry.endedAt === null && entry.parent === null) {
        const status = (entry.ref.getSnapshot() as { status?: string } | undefined)?.status;
        if (status && status !== 'active') {
          entry.endedAt = now;
          this.dirty.add(entry.id);
        }
      }
      if (entry.endedAt !== null && now - entry.endedAt > this.keepEndedMs) {
        this.entries.delete(entry.id);
        this.dirty.delete(entry.id);
        this.removed.add(entry.id);
      }
    }
  }
}
