/**
 * The shapes the CLI prints with --json, and the functions that build them from the server's
 * answers. The CLI's JSON is its own contract (docs/cli.md): camelCase, times as ISO strings,
 * absent values as null, so scripts do not break when the HTTP API renames a field.
 */
import { toMs } from './output.ts';

export interface User {
  id: number;
  username: string;
  email: string | null;
  isAdmin: boolean;
  createdAt: string | null;
  /** How many containers the user holds now (null if the server does not say). */
  containers: number | null;
}

export interface Slot {
  name: string;
  type: string;
  index: number;
  state: string;
  phase: string | null;
  hostPort: number | null;
  /** On a Swarm: the node that runs the slot. */
  node: string | null;
  containerId: string | null;
  owner: string | null;
  assignmentId: number | null;
  since: string | null;
}

export interface Sweep {
  at: string | null;
  durationMs: number | null;
  containers: number | null;
  dockerCalls: number | null;
  findings: Array<{ name: string; expected: string | null; containerId: string | null; running: boolean | null }>;
  orphans: string[];
  error: string | null;
}

/** A recovery, a move to another slot, or a stranded assignment (the server's event log). */
export interface Recovery {
  /** The server's event id (increasing). */
  id: number | null;
  at: string | null;
  kind: 'recovery' | 'moved' | 'stranded' | string;
  name: string;
  userId: number | null;
  containerId: string | null;
  durationMs: number | null;
  attempts: number | null;
  /** moved: the slot the assignment came from and went to. */
  from: string | null;
  to: string | null;
  /** stranded: why. */
  message: string | null;
}

export interface Monitor {
  paused: boolean;
  intervalMs: number | null;
  lastSweep: Sweep | null;
  sweeps: Sweep[];
  recoveries: Recovery[];
}

type Raw = Record<string, unknown>;

/** The first of several spellings of a field that is present. */
function pick(raw: Raw, ...keys: string[]): unknown {
  for (const key of keys) {
    const parts = key.split('.');
    let value: unknown = raw;
    for (const p of parts) value = value && typeof value === 'object' ? (value as Raw)[p] : undefined;
    if (value !== undefined && value !== null) return value;
  }
  return null;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
const iso = (v: unknown): string | null => {
  const ms = toMs(v);
  return ms === null ? null : new Date(ms).toISOString();
};

/** Unwrap `{ users: [...] }`-style answers as well as bare arrays. */
export function listOf(data: unknown, ...keys: string[]): Raw[] {
  if (Array.isArray(data)) return data as Raw[];
  for (const key of keys) {
    const value = (data as Raw | null)?.[key];
    if (Array.isArray(value)) return value as Raw[];
  }
  return [];
}

export function toUser(raw: Raw): User {
  return {
    id: num(pick(raw, 'id')) ?? 0,
    username: String(pick(raw, 'username', 'name') ?? ''),
    email: str(pick(raw, 'email')),
    isAdmin: Boolean(pick(raw, 'isAdmin', 'is_admin', 'admin')),
    createdAt: iso(pick(raw, 'createdAt', 'created_at')),
    containers: num(pick(raw, 'containers')),
  };
}

export function toSlot(raw: Raw): Slot {
  const owner = pick(raw, 'owner', 'assignment.username', 'username');
  return {
    name: String(pick(raw, 'name') ?? ''),
    type: String(pick(raw, 'type') ?? ''),
    index: num(pick(raw, 'index')) ?? 0,
    state: String(pick(raw, 'state', 'status') ?? 'unknown'),
    phase: str(pick(raw, 'phase')),
    hostPort: num(pick(raw, 'hostPort', 'host_port', 'port')),
    node: str(pick(raw, 'node')),
    containerId: str(pick(raw, 'containerId', 'container_id')),
    owner: owner && typeof owner === 'object' ? str((owner as Raw).username) : str(owner),
    assignmentId: num(pick(raw, 'assignmentId', 'assignment_id', 'assignment.id')),
    since: iso(pick(raw, 'since', 'assignedAt', 'assigned_at')),
  };
}

export function toSweep(raw: Raw): Sweep {
  const findings = Array.isArray(raw.findings) ? (raw.findings as Raw[]) : [];
  const orphans = Array.isArray(raw.orphans) ? (raw.orphans as unknown[]) : [];
  return {
    at: iso(pick(raw, 'at', 'startedAt')),
    durationMs: num(pick(raw, 'durationMs', 'duration_ms')),
    containers: num(pick(raw, 'containers')),
    dockerCalls: num(pick(raw, 'dockerCalls', 'docker_calls')),
    findings: findings.map((f) => ({
      name: String(pick(f, 'name') ?? ''),
      expected: str(pick(f, 'expected')),
      containerId: str(pick(f, 'containerId', 'container_id')),
      running: typeof f.running === 'boolean' ? f.running : null,
    })),
    orphans: orphans.map((o) => (o && typeof o === 'object' ? String((o as Raw).name) : String(o))),
    error: str(pick(raw, 'error')),
  };
}

export function toRecovery(raw: Raw): Recovery {
  const detail = (raw.detail && typeof raw.detail === 'object' ? raw.detail : {}) as Raw;
  const merged = { ...detail, ...raw };
  return {
    id: num(raw.id),
    at: iso(pick(merged, 'at', 'created_at', 'createdAt')),
    kind: String(pick(merged, 'kind', 'type') ?? 'recovery'),
    name: String(pick(merged, 'slot_name', 'slotName', 'slot', 'name', 'to') ?? ''),
    userId: num(pick(merged, 'user_id', 'userId', 'assignment.userId')),
    containerId: str(pick(merged, 'containerId', 'container_id')),
    durationMs: num(pick(merged, 'durationMs', 'duration_ms')),
    attempts: num(pick(merged, 'attempts')),
    from: str(pick(detail, 'from')),
    to: str(pick(detail, 'to')),
    message: str(pick(detail, 'message')),
  };
}

/** GET /api/admin/monitor answers { monitor: { paused, intervalMs, lastSweep }, sweeps, recoveries }. */
export function toMonitor(answer: Raw): Monitor {
  const raw = { ...answer, ...(answer.monitor && typeof answer.monitor === 'object' ? (answer.monitor as Raw) : {}) };
  const last = pick(raw, 'lastSweep', 'last_sweep');
  const sweeps = listOf(pick(raw, 'sweeps', 'recentSweeps', 'recent_sweeps') ?? []).map(toSweep);
  const recoveries = listOf(pick(raw, 'recoveries', 'recentRecoveries', 'recent_recoveries') ?? []).map(toRecovery);
  // Oldest first, whatever order the server used.
  const byTime = <T extends { at: string | null }>(a: T, b: T) => (toMs(a.at) ?? 0) - (toMs(b.at) ?? 0);
  return {
    paused: Boolean(pick(raw, 'paused')),
    intervalMs: num(pick(raw, 'intervalMs', 'interval_ms')),
    lastSweep: last && typeof last === 'object' ? toSweep(last as Raw) : null,
    sweeps: sweeps.sort(byTime),
    recoveries: recoveries.sort(byTime),
  };
}

export const STATES = ['available', 'assigned', 'failed', 'stopped'] as const;

export type Counts = Record<string, Record<(typeof STATES)[number] | 'total', number>>;

/** Per-type counts of each state, computed from the slots. */
export function countSlots(slots: Slot[]): Counts {
  const counts: Counts = {};
  for (const s of slots) {
    const c = (counts[s.type] ??= { available: 0, assigned: 0, failed: 0, stopped: 0, total: 0 });
    if ((STATES as readonly string[]).includes(s.state)) c[s.state as (typeof STATES)[number]] += 1;
    c.total += 1;
  }
  return counts;
}
