/**
 * The contracts between the machines and the world, as types: what a container actor is given
 * and told, what it reports to the pool, what the pool is asked and what it emits.
 */
import type { ElasticPolicy, ExpiryPolicy, ExpiryReason } from './pool.policy.ts';
import type { SweepFinding } from './pool.logic.ts';
import type { Assignment, LaunchRefusal, NodeStatus, Observation, ObservedContainer, SlotSpec, SlotState, SlotView, TypeRange } from './types.ts';

// ---- correlation: why a slot is asked to do something, carried back in its answer ----

/** Why a slot is handed an assignment: a user's launch, or a move away from a slot that cannot be rebuilt. */
export type AssignCause = { kind: 'launch'; requestId: string } | { kind: 'relocation'; from: string };

/** Why an assignment is given back: someone asked (user or admin), or the expiry policy. */
export type ReleaseCause = { kind: 'request'; requestId: string } | { kind: 'expiry'; reason: ExpiryReason };

// ---- container actor ----

export interface ContainerInput {
  slot: SlotSpec;
  containerId: string | null;
  observed: Observation;
  assignment: Assignment | null;
  /**
   * Which incarnation of this slot name the actor is; set by the pool. A report from an actor
   * that is not the slot's current incarnation (a name retired and grown again) is stale.
   */
  generation?: number;
  /** The slot's directory may hold a previous holder's files: rebuild before handing out. */
  dirty?: boolean;
  retryBaseMs?: number;
  maxInPlaceAttempts?: number;
}

export type ContainerEvent =
  | { type: 'slot.assign'; cause: AssignCause; assignment: Assignment }
  | { type: 'slot.release'; cause: ReleaseCause }
  | { type: 'slot.relinquish' }
  | { type: 'slot.recreate' }
  | { type: 'slot.retire' }
  | { type: 'container.died'; containerId: string; at: number }
  | { type: 'container.destroyed'; containerId: string; at: number }
  | { type: 'container.observed'; containerId: string | null; running: boolean; at: number };

/** Events this actor sends to its parent. */
export type SlotReport =
  | { type: 'slot.changed'; name: string; state: SlotState; phase: string; containerId: string | null; assignment: Assignment | null; error: string | null }
  | { type: 'slot.assigned'; name: string; cause: AssignCause; assignment: Assignment }
  /** `refused`: the slot was not free when asked, nothing was written; another slot may take it. */
  | { type: 'slot.assignFailed'; name: string; cause: AssignCause; assignment: Assignment; error: string; refused: boolean }
  | { type: 'slot.released'; name: string; cause: ReleaseCause; assignment: Assignment }
  /** The assignment is still held; the actor is back where it was before the release. */
  | { type: 'slot.releaseFailed'; name: string; cause: ReleaseCause; error: string }
  | { type: 'slot.lost'; name: string; assignment: Assignment; attempts: number; error: string | null }
  | { type: 'slot.recovered'; name: string; assignment: Assignment; containerId: string; faultAt: number; finishedAt: number; attempts: number }
  | { type: 'slot.retired'; name: string; generation: number };

// ---- pool supervisor ----

export interface PoolInput {
  slots: ContainerInput[];
  ranges: Record<string, TypeRange>;
  healthIntervalMs: number;
  perUserLimit: number;
  monitorPaused?: boolean;
  retryBaseMs?: number;
  maxInPlaceAttempts?: number;
  expiry?: ExpiryPolicy;
  elastic?: Record<string, ElasticPolicy>;
  baseSizes?: Record<string, number>;
  /** Cluster engines: the nodes at start (placement and node loss, see pool.nodes.ts). */
  nodes?: NodeStatus[];
}

export interface SweepResult {
  containers: ObservedContainer[];
  startedAt: number;
  finishedAt: number;
  dockerCalls: number;
  /** Cluster engines: the node list read in the same sweep. */
  nodes?: NodeStatus[];
}

export type PoolCommand =
  | { type: 'pool.launch'; requestId: string; kind: string; userId: number; username: string; at: number }
  | { type: 'pool.release'; requestId: string; name: string; assignmentId: number }
  | { type: 'pool.resize'; requestId: string; kind: string; size: number }
  | { type: 'pool.reinit'; requestId: string }
  | { type: 'pool.remove'; requestId: string; name: string }
  | { type: 'docker.event'; action: string; containerId: string; name: string; at: number }
  | { type: 'health.runNow' }
  | { type: 'health.pause' }
  | { type: 'health.resume' }
  | { type: 'health.setInterval'; ms: number }
  | { type: 'pool.touch'; assignmentId: number; at: number }
  | { type: 'nodes.changed'; nodes: NodeStatus[] };

export type PoolEvent = PoolCommand | SlotReport;

export type PoolEmitted =
  | { type: 'slot.updated'; slot: SlotView }
  | { type: 'slot.removed'; name: string }
  | { type: 'launch.done'; requestId: string; ok: true; slot: SlotView; assignment: Assignment }
  | { type: 'launch.done'; requestId: string; ok: false; refusal: LaunchRefusal; message: string }
  /** `failed`: the release was tried and broke (Docker, the store, the files): `message` is for the log, not the asker. */
  | { type: 'release.done'; requestId: string; ok: boolean; message?: string; assignment?: Assignment; failed?: true }
  | { type: 'resize.done'; requestId: string; kind: string; size: number; added: string[]; retired: string[]; kept: number; message?: string }
  | { type: 'reinit.done'; requestId: string; recreated: string[]; skipped: string[] }
  | { type: 'remove.done'; requestId: string; ok: boolean; message?: string }
  | { type: 'recovery.done'; name: string; assignment: Assignment; containerId: string; durationMs: number; attempts: number }
  | { type: 'assignment.moved'; from: string; to: string; assignment: Assignment }
  | { type: 'assignment.stranded'; name: string; assignment: Assignment; message: string }
  | { type: 'health.swept'; startedAt: number; durationMs: number; containers: number; dockerCalls: number; findings: SweepFinding[]; orphans: ObservedContainer[] }
  | { type: 'health.failed'; error: string }
  | { type: 'monitor.changed'; paused: boolean; intervalMs: number }
  | { type: 'assignment.expiring'; name: string; assignment: Assignment; reason: ExpiryReason; deadline: number }
  | { type: 'assignment.expired'; name: string; assignment: Assignment; reason: ExpiryReason }
  | { type: 'assignment.expiryFailed'; name: string; reason: ExpiryReason; message: string }
  | { type: 'pool.scaled'; added: string[]; retired: string[] };

