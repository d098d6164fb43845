/** What the API (and the socket layer) shows of a slot: one shape for users, one for admins. */
import type { SlotState, SlotView } from '../../machines/types.ts';
import type { AdminSlot, LiveContainer, MonitorView, NodeView, SweepView, ContainerView as SharedContainerView } from '../../shared/events.ts';
import type { MonitorStatus, NodeCounts, SweepRecord } from '../pool/pool-runtime.ts';
import type { Config } from '../config.ts';
import { SSH_LOGIN } from '../pool/pool-actors.ts';

/**
 * The user's view of a container: the shape shared with the UI (shared/events.ts), except that a
 * slot without an assignment has no id or hand-out time yet.
 */
export type ContainerView = Omit<SharedContainerView, 'id' | 'created_at'> & { id: number | null; created_at: string | null };

export function containerView(slot: SlotView, config: Pick<Config, 'publicHost' | 'types'>): ContainerView {
  const publicHost = slot.host ?? config.publicHost;
  const host = publicHost.includes(':') && !publicHost.startsWith('[') ? `[${publicHost}]` : publicHost;
  const access = config.types[slot.type]?.protocol === 'ssh'
    ? { ssh: `ssh -p ${slot.hostPort} ${SSH_LOGIN}@${host}` }
    : { url: `http://${host}:${slot.hostPort}/` };
  return {
    id: slot.assignment?.id ?? null,
    name: slot.name,
    type: slot.type,
    status: slot.state,
    phase: slot.phase,
    host_port: slot.hostPort,
    ...access,
    created_at: slot.assignment ? new Date(slot.assignment.createdAt).toISOString() : null,
  };
}

/** The admin's view of a slot: the shape shared with the UI (shared/events.ts). */
export type AdminSlotView = Omit<AdminSlot, 'assigned_at'>;

export function adminSlotView(slot: SlotView, since: number | null): AdminSlotView {
  return {
    name: slot.name,
    type: slot.type,
    index: slot.index,
    state: slot.state,
    phase: slot.phase,
    host_port: slot.hostPort,
    node: slot.node ?? null,
    container_id: slot.containerId?.slice(0, 12) ?? null,
    owner: slot.assignment?.username ?? null,
    owner_id: slot.assignment?.userId ?? null,
    assignment_id: slot.assignment?.id ?? null,
    since: since === null ? null : new Date(since).toISOString(),
    error: slot.error,
  };
}

/** A Swarm node as admins see it (shared/events.ts `NodeView`): the same in `GET /api/admin/pool` and `node:list`. */
export function nodeView(node: NodeCounts): NodeView {
  return {
    name: node.name,
    state: node.state,
    host: node.host,
    ports: Object.fromEntries(Object.entries(node.ports).map(([type, r]) => [type, { portStart: r.portStart, portEnd: r.portEnd }])),
    slots: { ...node.slots },
  };
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

/** A container of the user's over the socket: always assigned, so `id` is set; `error` added. */
export function liveContainer(slot: SlotView, config: Pick<Config, 'publicHost' | 'types'>): LiveContainer {
  const view = containerView(slot, config);
  return { ...view, id: view.id ?? 0, created_at: view.created_at ?? '', error: slot.error };
}

/** A slot as admins see it over the socket: the admin view plus when it was handed out. */
export function adminSlot(slot: SlotView, since: number | null): AdminSlot {
  return { ...adminSlotView(slot, since), assigned_at: iso(slot.assignment?.createdAt) };
}

/** What a resize answers: the type, the size asked for and what changed (no request ids or event names). */
export interface ResizeView {
  type: string;
  size: number;
  added: string[];
  retired: string[];
  kept: number;
  message?: string;
}

export function resizeView(result: { kind: string; size: number; added: string[]; retired: string[]; kept: number; message?: string }): ResizeView {
  const { kind, size, added, retired, kept, message } = result;
  return { type: kind, size, added, retired, kept, ...(message === undefined ? {} : { message }) };
}

/** What a reinit answers: which free slots get a new container and which were left alone. */
export function reinitView(result: { recreated: string[]; skipped: string[] }): { recreated: string[]; skipped: string[] } {
  return { recreated: result.recreated, skipped: result.skipped };
}

/** One health check as the API and the socket show it: the wire fields only, copied field by field. */
export function sweepView(s: SweepRecord): SweepView {
  return {
    at: s.at,
    durationMs: s.durationMs,
    containers: s.containers,
    dockerCalls: s.dockerCalls,
    findings: s.findings.map((f) => ({ name: f.name, expected: f.expected, containerId: f.containerId, running: f.running })),
    orphans: [...s.orphans],
    ...(s.error === undefined ? {} : { error: s.error }),
  };
}

export function monitorView(m: MonitorStatus): MonitorView {
  return { paused: m.paused, intervalMs: m.intervalMs, lastSweep: m.lastSweep ? sweepView(m.lastSweep) : null };
}
