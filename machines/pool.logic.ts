/** Pure decisions of the pool: no actors, no I/O, tested as plain functions. */
import type {
  Assignment,
  LaunchRefusal,
  Observation,
  ObservedContainer,
  SlotSpec,
  SlotState,
  SlotView,
  TypeRange,
} from './types.ts';
import type { AssignCause } from './events.ts';
import { SLOT_STATES } from './types.ts';

export const slotName = (type: string, index: number, port: number) => `pool_${type}_${index}_${port}`;

export function slotSpec(type: string, index: number, range: TypeRange): SlotSpec {
  const hostPort = range.portStart + index;
  if (hostPort > range.portEnd) throw new RangeError(`${type}: index ${index} is outside ports ${range.portStart}-${range.portEnd}`);
  return { name: slotName(type, index, hostPort), type, index, hostPort };
}

/** The slots a pool of these sizes consists of, index 0..size-1 per type. */
export function buildSlots(sizes: Record<string, number>, ranges: Record<string, TypeRange>): SlotSpec[] {
  return Object.entries(sizes).flatMap(([type, size]) => {
    const range = ranges[type];
    if (!range) throw new Error(`unknown container type "${type}"`);
    return Array.from({ length: size }, (_, index) => slotSpec(type, index, range));
  });
}

/** A slot the pool has promised to an assignment until the slot answers. */
export interface Reservation {
  cause: AssignCause;
  userId: number;
}

export type Choice =
  | { ok: true; slot: SlotView }
  | { ok: false; refusal: LaunchRefusal; message: string };

/** Pick the free slot of `type` with the lowest index, honouring reservations and the per-user limit. */
export function chooseSlot(
  slots: Record<string, SlotView>,
  reserved: Record<string, Reservation>,
  request: { type: string; userId: number },
  ranges: Record<string, TypeRange>,
  perUserLimit: number,
): Choice {
  if (!ranges[request.type]) {
    return { ok: false, refusal: 'unknown-type', message: `unknown container type "${request.type}"; known: ${Object.keys(ranges).join(', ')}` };
  }
  const held =
    Object.values(slots).filter((s) => s.assignment?.userId === request.userId && !reserved[s.name]).length +
    Object.values(reserved).filter((r) => r.userId === request.userId).length;
  if (perUserLimit > 0 && held >= perUserLimit) {
    return { ok: false, refusal: 'limit', message: `you already hold ${held} containers; the limit is ${perUserLimit} per user` };
  }
  const free = Object.values(slots)
    .filter((s) => s.type === request.type && s.state === 'available' && s.phase === 'ready' && !reserved[s.name])
    .sort((a, b) => a.index - b.index);
  const [first] = free;
  if (!first) {
    return { ok: false, refusal: 'none-free', message: `no free ${request.type} container right now; try again shortly or ask an admin to grow the pool` };
  }
  return { ok: true, slot: first };
}

export function countByType(slots: Iterable<SlotView>): Record<string, Record<SlotState, number>> {
  const counts: Record<string, Record<SlotState, number>> = {};
  for (const slot of slots) {
    const count = (counts[slot.type] ??= Object.fromEntries(SLOT_STATES.map((s) => [s, 0])) as Record<SlotState, number>);
    count[slot.state] += 1;
  }
  return counts;
}

export interface ResizePlan {
  add: SlotSpec[];
  retire: string[];
  /** Slots that would have to go but are held by users. */
  kept: number;
}

/**
 * Grow with the lowest free indexes; shrink from the highest index, never touching held or
 * reserved slots. A retiring slot no longer counts towards the size, but its index (its name,
 * port and files directory) stays in use until its actor reports it retired.
 */
export function planResize(
  slots: Record<string, SlotView>,
  reserved: Record<string, Reservation>,
  type: string,
  size: number,
  range: TypeRange,
): ResizePlan {
  const capacity = range.portEnd - range.portStart + 1;
  if (!Number.isInteger(size) || size < 0 || size > capacity) {
    throw new RangeError(`${type}: size must be an integer from 0 to ${capacity} (ports ${range.portStart}-${range.portEnd})`);
  }
  const all = Object.values(slots).filter((s) => s.type === type);
  const ofType = all.filter((s) => s.phase !== 'retiring');
  const add: SlotSpec[] = [];
  const retire: string[] = [];
  let kept = 0;
  if (size > ofType.length) {
    const used = new Set(all.map((s) => s.index));
    for (let index = 0; add.length < size - ofType.length && range.portStart + index <= range.portEnd; index++) {
      if (!used.has(index)) add.push(slotSpec(type, index, range));
    }
  } else {
    const removable = ofType
      .filter((s) => s.assignment === null && !reserved[s.name] && s.state !== 'assigned' && s.state !== 'failed')
      .sort((a, b) => b.index - a.index);
    const excess = ofType.length - size;
    retire.push(...removable.slice(0, excess).map((s) => s.name));
    kept = excess - retire.length;
  }
  return { add, retire, kept };
}

export interface SweepFinding {
  name: string;
  containerId: string | null;
  running: boolean;
  expected: SlotState;
}

export interface SweepDiff {
  findings: SweepFinding[];
  orphans: ObservedContainer[];
}

/**
 * Compare one list of our containers against what the slots believe. A finding is a slot whose
 * container is missing, not running, or a different container than the slot thinks it owns.
 * Slots in the middle of a change (stopped, failed) are left to their actors.
 */
export function diffSweep(slots: Record<string, SlotView>, observed: ObservedContainer[]): SweepDiff {
  const byName = new Map(observed.map((c) => [c.name, c]));
  const findings: SweepFinding[] = [];
  for (const slot of Object.values(slots)) {
    if (slot.state !== 'available' && slot.state !== 'assigned') continue;
    if (slot.phase !== 'ready' && slot.phase !== 'serving') continue;
    const seen = byName.get(slot.name);
    if (seen && seen.running && seen.id === slot.containerId) continue;
    findings.push({ name: slot.name, containerId: seen?.id ?? null, running: seen?.running ?? false, expected: slot.state });
  }
  const orphans = observed.filter((c) => !slots[c.name]);
  return { findings, orphans };
}

export interface StoredSlot {
  name: string;
  containerId: string | null;
  assignment: Assignment | null;
  dirty: boolean;
}

export interface ReconcilePlan {
  slots: Array<{ slot: SlotSpec; containerId: string | null; observed: Observation; assignment: Assignment | null; dirty: boolean }>;
  /** Our containers that no wanted slot claims: removed. */
  orphans: ObservedContainer[];
  /** Assignments stored for slots that are no longer wanted: kept by adding their slot back. */
  keptForAssignments: string[];
}

/**
 * Startup: match the wanted slots with what SQLite remembers and what Docker has. A container
 * is adopted by name, whatever its id; a slot with no container is created; a container no slot
 * wants is an orphan. A stored assignment always keeps its slot, even if the pool shrank.
 */
export function planReconcile(
  wanted: SlotSpec[],
  stored: StoredSlot[],
  observed: ObservedContainer[],
  parse: (name: string) => SlotSpec | null,
): ReconcilePlan {
  const storedByName = new Map(stored.map((s) => [s.name, s]));
  const byName = new Map(observed.map((c) => [c.name, c]));
  const specs = new Map(wanted.map((s) => [s.name, s]));
  const keptForAssignments: string[] = [];
  for (const row of stored) {
    if (row.assignment && !specs.has(row.name)) {
      const spec = parse(row.name);
      if (spec) {
        specs.set(row.name, spec);
        keptForAssignments.push(row.name);
      }
    }
  }
  const slots = [...specs.values()].map((slot) => {
    const seen = byName.get(slot.name);
    const row = storedByName.get(slot.name);
    const observedState: Observation = !seen ? 'missing' : seen.running ? 'running' : 'stopped';
    return {
      slot,
      containerId: seen?.id ?? null,
      observed: observedState,
      assignment: row?.assignment ?? null,
      dirty: row?.dirty ?? false,
    };
  });
  const orphans = observed.filter((c) => !specs.has(c.name));
  return { slots, orphans, keptForAssignments };
}

export function parseSlotName(name: string): { type: string; index: number; hostPort: number } | null {
  const match = /^pool_([a-z0-9-]+)_(\d+)_(\d+)$/.exec(name);
  if (!match) return null;
  const [, type = '', index, hostPort] = match;
  return { type, index: Number(index), hostPort: Number(hostPort) };
}
