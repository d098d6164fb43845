/** What the pool runtime tells its listeners (HTTP, socket.io, metrics), and the records it keeps. */
import type { InspectionEvent } from 'xstate';
import type { PoolEmitted } from '../../machines/events.ts';
import type { NodeStatus, SlotState, SlotView } from '../../machines/types.ts';

export interface RuntimeEvents {
  slot: [SlotView & { since: number }];
  'slot.removed': [string];
  /** The supervisor brought a held slot's dead container back (not one an admin stopped: `restarted`). */
  recovery: [Extract<PoolEmitted, { type: 'recovery.done' }>];
  /** A held slot came back after an admin restarted or recreated it (PoolRuntime.intervene). */
  restarted: [RestartedEvent];
  moved: [Extract<PoolEmitted, { type: 'assignment.moved' }>];
  stranded: [Extract<PoolEmitted, { type: 'assignment.stranded' }>];
  sweep: [SweepRecord];
  monitor: [MonitorStatus];
  inspect: [InspectionEvent];
  launch: [{ type: string; ok: boolean; refusal?: string; ms: number }];
  expiring: [Extract<PoolEmitted, { type: 'assignment.expiring' }>];
  expired: [Extract<PoolEmitted, { type: 'assignment.expired' }>];
  /** Cluster engines: a node's state, host or port ranges changed (every node, as `nodes()` reads them). */
  nodes: [NodeCounts[]];
}

/** A node of a cluster engine and how many of the pool's slots it runs, per state. */
export type NodeCounts = NodeStatus & { slots: Record<SlotState, number> };

export type RestartedEvent = Extract<PoolEmitted, { type: 'recovery.done' }> & {
  kind: 'restart' | 'recreate';
  by: { id: number; username: string };
};

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

export function sweepRecord(event: Extract<PoolEmitted, { type: 'health.swept' | 'health.failed' }>, now: number): SweepRecord {
  return event.type === 'health.swept'
    ? { at: event.startedAt, durationMs: event.durationMs, containers: event.containers, dockerCalls: event.dockerCalls, findings: event.findings, orphans: event.orphans.map((o) => o.name) }
    : { at: now, durationMs: 0, containers: 0, dockerCalls: 1, findings: [], orphans: [], error: event.error };
}

/** What a resize or reinit answers to its caller: no internal fields (type, request id). */
export type ResizeResult = Omit<Extract<PoolEmitted, { type: 'resize.done' }>, 'type' | 'requestId'>;
export type ReinitResult = Omit<Extract<PoolEmitted, { type: 'reinit.done' }>, 'type' | 'requestId'>;
