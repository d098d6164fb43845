/** An in-memory PoolStore with the SQLite store's contract. For model tests of the machines only. */
import type { StoredSlot } from '../../machines/pool.logic.ts';
import type { Assignment, SlotSpec, SlotState } from '../../machines/types.ts';
import type { AssignmentRow, EventRecord, PoolStore, SlotRecord } from '../../runtime/store/pool-store.ts';

export interface SlotRow {
  spec: SlotSpec;
  containerId: string | null;
  status: SlotState;
  phase: string;
  dirty: boolean;
}

interface AssignmentEntry {
  id: number;
  slot: string;
  hostPort: number;
  type: string;
  assignment: Assignment;
  released: boolean;
}

export class MemoryPoolStore implements PoolStore {
  readonly rows = new Map<string, SlotRow>();
  readonly assignments = new Map<number, AssignmentEntry>();
  readonly events: EventRecord[] = [];
  readonly settings = new Map<string, string>();
  private nextAssignment = 1;
  /** Make the next N `releaseAssignment` calls fail. */
  failReleases = 0;

  active(): AssignmentEntry[] {
    return [...this.assignments.values()].filter((a) => !a.released);
  }

  async loadSlots(): Promise<StoredSlot[]> {
    return [...this.rows.values()].map((row) => {
      const held = this.active().find((a) => a.slot === row.spec.name);
      return { name: row.spec.name, containerId: row.containerId, dirty: row.dirty, assignment: held ? { ...held.assignment, id: held.id } : null };
    });
  }

  async saveSlot(record: SlotRecord): Promise<void> {
    for (const row of this.rows.values()) if (row.containerId === record.containerId && row.spec.name !== record.spec.name) row.containerId = null;
    const row = this.rows.get(record.spec.name);
    if (row) Object.assign(row, { spec: record.spec, containerId: record.containerId });
    else this.rows.set(record.spec.name, { spec: record.spec, containerId: record.containerId, status: 'stopped', phase: 'starting', dirty: false });
  }

  async setStatus(name: string, status: SlotState, phase: string, containerId: string | null): Promise<void> {
    const row = this.rows.get(name);
    if (row) Object.assign(row, { status, phase, containerId: containerId ?? row.containerId });
  }

  async setCustomFiles(name: string, has: boolean): Promise<void> {
    const row = this.rows.get(name);
    if (row) row.dirty = has;
  }

  async deleteSlot(name: string): Promise<void> {
    this.rows.delete(name);
  }

  async createAssignment(slot: SlotSpec, assignment: Assignment): Promise<number> {
    const id = this.nextAssignment++;
    this.assignments.set(id, { id, slot: slot.name, hostPort: slot.hostPort, type: slot.type, assignment: { ...assignment, id }, released: false });
    return id;
  }

  async saveCredentials(assignmentId: number, password: string, keys: string[]): Promise<void> {
    const entry = this.assignments.get(assignmentId);
    if (entry) entry.assignment = { ...entry.assignment, credentials: { username: 'user', password, keys } };
  }

  async moveAssignment(assignmentId: number, to: SlotSpec): Promise<void> {
    const entry = this.assignments.get(assignmentId);
    if (entry) Object.assign(entry, { slot: to.name, hostPort: to.hostPort });
  }

  async releaseAssignment(assignmentId: number): Promise<void> {
    if (this.failReleases > 0) {
      this.failReleases -= 1;
      throw new Error('simulated store failure');
    }
    const entry = this.assignments.get(assignmentId);
    if (entry) entry.released = true;
  }

  async activeAssignments(userId?: number): Promise<AssignmentRow[]> {
    return this.active()
      .filter((a) => userId === undefined || a.assignment.userId === userId)
      .map((a) => ({
        id: a.id,
        user_id: a.assignment.userId,
        username: a.assignment.username,
        slot_name: a.slot,
        type: a.type,
        host_port: a.hostPort,
        ssh_password: a.assignment.credentials?.password ?? null,
        ssh_keys: a.assignment.credentials ? JSON.stringify(a.assignment.credentials.keys) : null,
        created_at: new Date(a.assignment.createdAt).toISOString(),
      }));
  }

  async logEvent(kind: string, fields: { slot?: string | null; userId?: number | null; detail?: Record<string, unknown> }): Promise<void> {
    this.events.push({ id: this.events.length + 1, at: new Date().toISOString(), kind, slot_name: fields.slot ?? null, user_id: fields.userId ?? null, detail: fields.detail ?? {} });
    if (this.events.length > 500) this.events.splice(0, 250);
  }

  async recentEvents(limit: number, kinds?: string[]): Promise<EventRecord[]> {
    return this.events.filter((e) => !kinds?.length || kinds.includes(e.kind)).slice(-limit).reverse();
  }

  async getSetting(key: string): Promise<string | null> {
    return this.settings.get(key) ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.settings.set(key, value);
  }
}
