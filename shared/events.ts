/**
 * The socket.io contract between the Pooldeck server (runtime/realtime/socket-server.ts) and
 * its clients (the dashboard in ui/, scripts using socket.io-client). Events are named
 * `domain:verb`. Every client→server event takes an acknowledgement callback as its last
 * argument and is answered with `{ data }` or `{ error }` (a sentence meant for people).
 * The server validates every payload at run time: these types describe, they do not protect.
 *
 * This file imports only its siblings in shared/ (console-events.ts, pool.ts), which import
 * nothing, so the browser bundle and the server can both use it.
 */

// Into the container (terminal, logs, stats): shared/console-events.ts (types only).
import type { ConsoleClientEvents, ConsoleServerEvents } from './console-events.ts';

export type Ack<T> = { data: T } | { error: string };
export type AckFn<T> = (response: Ack<T>) => void;

import type { ExpiryReason, SlotState } from './pool.ts';
export { SLOT_STATES, stateText, type ExpiryReason, type SlotState } from './pool.ts';

/** Counts of containers per type and state, e.g. `{ nginx: { available: 3, assigned: 2, ... } }`. */
export type PoolCounts = Record<string, Record<SlotState, number>>;

/**
 * One of the user's containers, as `GET /api/containers` returns it (runtime/http/views.ts
 * `containerView`); over the socket `id` is always set and `error` is added.
 */
export interface ContainerView {
  /** The assignment id: what `container:release` and `/api/containers/:id` take. */
  id: number;
  name: string;
  type: string;
  status: SlotState;
  /** The sub-state below `status`, e.g. `serving`, `recovering`, `backoff`. */
  phase: string;
  host_port: number;
  /** Web types: where the container answers. */
  url?: string;
  /** The ssh type: the command that logs in. */
  ssh?: string;
  created_at: string;
}

export interface LiveContainer extends ContainerView {
  error?: string | null;
}

/** A pool slot as admins see it (runtime/http/views.ts `adminSlotView`, plus `assigned_at`). */
export interface AdminSlot {
  name: string;
  type: string;
  index: number;
  state: SlotState;
  phase: string;
  host_port: number;
  /** On a Swarm: the node that runs the slot (null on one host). */
  node?: string | null;
  /** Short (12 hex digits) Docker container id. */
  container_id: string | null;
  owner: string | null;
  owner_id: number | null;
  assignment_id: number | null;
  /** When the slot last changed state (ISO time), if known. */
  since: string | null;
  error: string | null;
  assigned_at?: string | null;
}

/** A node of a Swarm: `ready`, `down` (the manager does not report it ready) or `drain` (its availability is not `active`). */
export type NodeState = 'ready' | 'down' | 'drain';

/**
 * One node of the Swarm the pool runs on (`GET /api/admin/pool` `nodes`, `node:list`); none on
 * one engine. `slots` counts the pool's slots on the node per state when the view was made.
 */
export interface NodeView {
  name: string;
  state: NodeState;
  /** Host name or address at which the node's published ports are reached. */
  host: string;
  /** The host port range of each type the node may run. */
  ports: Record<string, { portStart: number; portEnd: number }>;
  slots: Record<SlotState, number>;
}

export interface SweepFindingView {
  name: string;
  expected: SlotState;
  containerId: string | null;
  running: boolean;
}

/** One health check: one Docker list call compared with what the pool expects. */
export interface SweepView {
  at: number;
  durationMs: number;
  containers: number;
  dockerCalls: number;
  findings: SweepFindingView[];
  orphans: string[];
  error?: string;
}

export interface MonitorView {
  paused: boolean;
  intervalMs: number;
  lastSweep: SweepView | null;
}

// ---- history (the monitor's charts) ----

/**
 * The pool over one stretch of time: slot counts at its end, launches and recoveries during it.
 * Fine samples cover a few seconds (`ms`); older ones are folded into 5-minute buckets, where
 * `launchP99Ms` is the largest p99 of the bucket and `launchP50Ms` a launch-weighted mean.
 */
export interface HistorySample {
  /** When the sample was taken (ms since the epoch); for a folded bucket, its start. */
  at: number;
  /** How long the sample covers. */
  ms: number;
  slots: PoolCounts;
  /** Successful launches, and refused or failed ones. */
  launches: number;
  failedLaunches: number;
  launchP50Ms: number | null;
  launchP99Ms: number | null;
  /** Assigned containers rebuilt in place, and how long they took. */
  recoveries: number;
  recoveryMeanMs: number | null;
  recoveryMaxMs: number | null;
}

// ---- inspector ----

/** A state machine's shape, built on the server from the machine definition. */
export interface MachineGraph {
  id: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphNode {
  /** Dotted path from the machine root, e.g. `container.assigned.serving`. */
  id: string;
  key: string;
  parent: string | null;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** Id of the initial child, for compound nodes. */
  initial: string | null;
  /** Names of the promise actors this state invokes. */
  invoke: string[];
}

export interface GraphEdge {
  source: string;
  targets: string[];
  /** Readable event: `slot.assign`, `always`, `after retryDelay`, `done: persistAssignment`. */
  event: string;
  guard: string | null;
}

export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

export interface InspectActorState {
  /** XState session id: unique per actor instance. */
  id: string;
  /** The actor's id within its parent, e.g. `pool`, `pool_nginx_0_8000`, `0.container.stopped.recreating`. */
  name: string;
  parent: string | null;
  /** Key of the machine graph this actor runs (in `InspectSnapshot.machines`), or null for promise actors. */
  machine: string | null;
  /** What kind of logic: a machine id or the name of the promise actor (`recreateContainer`). */
  src: string;
  status: ActorStatus;
  /** The XState state value (machines only), e.g. `{ assigned: 'serving' }`. */
  value: unknown;
  /** The context or promise input/output, made JSON-safe with secrets redacted. */
  context: unknown;
  startedAt: number;
  updatedAt: number;
}

/** Something that happened to an actor: an event it processed and the state it ended in. */
export interface InspectRecord {
  seq: number;
  at: number;
  actor: string;
  type: string;
  /** Name of the actor that sent the event; null when it came from outside (the runtime). */
  source: string | null;
  /** Dotted state after the event, e.g. `assigned.serving`, or the actor status. */
  state: string;
  changed: boolean;
  detail: unknown;
}

export interface InspectActor extends InspectActorState {
  events: InspectRecord[];
}

export interface InspectSnapshot {
  machines: Record<string, MachineGraph>;
  actors: InspectActor[];
  /** Newest record sequence number included. */
  seq: number;
}

/** Changes since the last batch: actors whose state changed, new records, actors gone. */
export interface InspectBatch {
  actors: InspectActorState[];
  records: InspectRecord[];
  removed: string[];
}

// ---- the event maps ----

export interface ServerToClientEvents extends ConsoleServerEvents {
  /** One of your containers changed (launched, state change, recovered, moved). */
  'container:updated': (container: LiveContainer) => void;
  /** One of your containers is no longer yours (released by you or an admin, or deleted). */
  'container:released': (payload: { id: number; name: string }) => void;
  /** One of your containers died and was rebuilt in place with your files. */
  'container:recovered': (payload: { id: number; name: string; durationMs: number; attempts: number }) => void;
  /** An admin restarted (`restart`) or recreated (`recreate`) one of your containers; it is back, with your files. */
  'container:restarted': (payload: { id: number; name: string; kind: 'restart' | 'recreate'; durationMs: number }) => void;
  /** One of your containers could not be rebuilt and was moved to another slot. */
  'container:moved': (payload: { id: number; from: string; to: string }) => void;
  /** One of your containers cannot be rebuilt right now; the pool keeps trying. */
  'container:stranded': (payload: { id: number; name: string; message: string }) => void;
  /** One of your containers will be released at `deadline` (ms since epoch): unused too long, or at its maximum lifetime. */
  'container:expiring': (payload: { id: number; name: string; reason: ExpiryReason; deadline: number }) => void;
  /** One of your containers was released by the pool's policy. */
  'container:expired': (payload: { id: number; name: string; reason: ExpiryReason }) => void;
  'pool:counts': (counts: PoolCounts) => void;
  /** Admins: any slot of the pool changed. */
  'slot:updated': (slot: AdminSlot) => void;
  'slot:removed': (payload: { name: string }) => void;
  /** Admins, on a Swarm: every node, whenever a node's state, public host or port ranges change. */
  'node:list': (nodes: NodeView[]) => void;
  'monitor:sweep': (sweep: SweepView) => void;
  'monitor:status': (status: MonitorView) => void;
  /** Admins: one new sample of the pool's history, every few seconds (`GET /api/admin/history` has the past). */
  'history:sample': (sample: HistorySample) => void;
  /** Admins who sent `inspect:subscribe`: actor changes, at most a few batches a second. */
  'inspect:event': (batch: InspectBatch) => void;
  /** The session behind this socket ended (logout, user deleted); the server disconnects next. */
  'session:ended': (payload: { reason: string }) => void;
}

export interface ClientToServerEvents extends ConsoleClientEvents {
  'container:list': (ack: AckFn<LiveContainer[]>) => void;
  'container:launch': (payload: { type: string }, ack: AckFn<LiveContainer>) => void;
  /** Release one of your containers (admins: any container) by its assignment id. */
  'container:release': (payload: { id: number }, ack: AckFn<{ id: number; name: string }>) => void;
  'pool:counts': (ack: AckFn<PoolCounts>) => void;
  /** Admins: every slot of the pool. */
  'slot:list': (ack: AckFn<AdminSlot[]>) => void;
  /** Admins: every node of the Swarm with its state (empty on one engine). */
  'node:list': (ack: AckFn<NodeView[]>) => void;
  /** Admins: monitor status and the most recent health checks (newest first). */
  'monitor:get': (ack: AckFn<{ status: MonitorView; sweeps: SweepView[] }>) => void;
  'monitor:run': (ack: AckFn<SweepView>) => void;
  'monitor:pause': (ack: AckFn<MonitorView>) => void;
  'monitor:resume': (ack: AckFn<MonitorView>) => void;
  'monitor:interval': (payload: { seconds: number }, ack: AckFn<MonitorView>) => void;
  /** Admins: every actor with its machine drawing; `inspect:event` batches follow. */
  'inspect:subscribe': (ack: AckFn<InspectSnapshot>) => void;
  'inspect:unsubscribe': (ack: AckFn<true>) => void;
}

/** The socket.io path; the server and the clients must agree. */
export const SOCKET_PATH = '/socket.io';
