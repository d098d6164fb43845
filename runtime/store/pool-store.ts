/**
 * What the pool remembers across restarts.
 *
 * Contract: one row per slot in `containers` (keyed by pool name + slot name) whose `status` is
 * one of the four top-level states, written only through `setStatus` (by the runtime's status
 * mirror; `saveSlot` writes a slot's identity and container id and leaves its state alone); an assignment row lives from hand-out to release and is
 * written before a hand-out is acknowledged; `events` is an append-only log of state changes,
 * recoveries and health sweeps. Every method is scoped to this store's pool name.
 */
import type { Assignment, SlotSpec, SlotState } from '../../machines/types.ts';
import type { StoredSlot } from '../../machines/pool.logic.ts';
import type { Db } from './db.ts';

export interface SlotRecord {
  spec: SlotSpec;
  image: string;
  containerPort: number;
  containerId: string | null;
}

export interface EventRecord {
  id: number;
  at: string;
  kind: string;
  slot_name: string | null;
  user_id: number | null;
  detail: Record<string, unknown>;
}

export interface AssignmentRow {
  id: number;
  user_id: number;
  username: string;
  slot_name: string;
  type: string;
  host_port: number;
  ssh_password: string | null;
  ssh_keys: string | null;
  created_at: string;
}

export interface PoolStore {
  loadSlots(): Promise<StoredSlot[]>;
  saveSlot(record: SlotRecord): Promise<void>;
  setStatus(name: string, status: SlotState, phase: string, containerId: string | null): Promise<void>;
  setCustomFiles(name: string, has: boolean): Promise<void>;
  deleteSlot(name: string): Promise<void>;
  createAssignment(slot: SlotSpec, assignment: Assignment): Promise<number>;
  saveCredentials(assignmentId: number, password: string, keys: string[]): Promise<void>;
  moveAssignment(assignmentId: number, to: SlotSpec): Promise<void>;
  releaseAssignment(assignmentId: number): Promise<void>;
  activeAssignments(userId?: number): Promise<AssignmentRow[]>;
  logEvent(kind: string, fields: { slot?: string | null; userId?: number | null; detail?: Record<string, unknown> }): Promise<void>;
  recentEvents(limit: number, kinds?: string[]): Promise<EventRecord[]>;
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class SqlitePoolStore implements PoolStore {
  constructor(
    private readonly db: Db,
    private readonly poolName: string,
  ) {}

  async loadSlots(): Promise<StoredSlot[]> {
    const rows = await this.db.all<Array<{
      name: string; container_id: string | null; has_custom_files: number;
      a_id: number | null; user_id: number | null; username: string | null; created_at: string | null;
      ssh_password: string | null; ssh_keys: string | null;
    }>>(
      `SELECT c.name, c.container_id, c.has_custom_files,
              a.id AS a_id, a.user_id, u.username, a.created_at, a.ssh_password, a.ssh_keys
         FROM containers c
         LEFT JOIN assignments a ON a.pool_name = c.pool_name AND a.slot_name = c.name AND a.released_at IS NULL
         LEFT JOIN users u ON u.id = a.user_id
        WHERE c.pool_name = ?`,
      this.poolName,
    );
    return rows.map((r) => ({
      name: r.name,
      containerId: r.container_id,
      dirty: r.has_custom_files === 1,
      assignment:
        r.a_id === null
          ? null
          : {
              id: r.a_id,
              userId: r.user_id!,
              username: r.username ?? '',
              createdAt: Date.parse(r.created_at!),
              credentials: r.ssh_password ? { username: 'user', password: r.ssh_password, keys: JSON.parse(r.ssh_keys ?? '[]') } : null,
            },
    }));
  }

  async saveSlot(r: SlotRecord): Promise<void> {
    await this.db.run(`UPDATE containers SET container_id = NULL WHERE container_id = ? AND NOT (pool_name = ? AND name = ?)`, r.containerId, this.poolName, r.spec.name);
    await this.db.run(
      `INSERT INTO containers (container_id, name, image_name, image_type, pool_index, status, phase, host_port, container_port, pool_name)
       VALUES (?, ?, ?, ?, ?, 'stopped', 'starting', ?, ?, ?)
       ON CONFLICT (pool_name, name) DO UPDATE SET
         container_id = excluded.container_id, image_name = excluded.image_name,
         host_port = excluded.host_port, container_port = excluded.container_port,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
      r.containerId, r.spec.name, r.image, r.spec.type, r.spec.index, r.spec.hostPort, r.containerPort, this.poolName,
    );
  }

  async setStatus(name: string, status: SlotState, phase: string, containerId: string | null): Promise<void> {
    await this.db.run(
      `UPDATE containers SET status = ?, phase = ?, container_id = COALESCE(?, container_id), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE pool_name = ? AND name = ?`,
      status, phase, containerId, this.poolName, name,
    );
  }

  async setCustomFiles(name: string, has: boolean): Promise<void> {
    await this.db.run(`UPDATE containers SET has_custom_files = ? WHERE pool_name = ? AND name = ?`, has ? 1 : 0, this.poolName, name);
  }

  async deleteSlot(name: string): Promise<void> {
    await this.db.run(`DELETE FROM containers WHERE pool_name = ? AND name = ?`, this.poolName, name);
  }

  async createAssignment(slot: SlotSpec, a: Assignment): Promise<number> {
    // The assignment row is the truth (loadSlots joins on it); the container row's owner columns
    // follow it. No explicit transaction: the connection is shared by concurrent requests.
    const result = await this.db.run(
      `INSERT INTO assignments (user_id, pool_name, slot_name, type, host_port, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      a.userId, this.poolName, slot.name, slot.type, slot.hostPort, iso(a.createdAt),
    );
    const id = result.lastID!;
    await this.db.run(
      `UPDATE containers SET user_id = ?, assignment_id = ? WHERE pool_name = ? AND name = ?`,
      a.userId, id, this.poolName, slot.name,
    );
    return id;
  }

  async saveCredentials(assignmentId: number, password: string, keys: string[]): Promise<void> {
    await this.db.run(`UPDATE assignments SET ssh_password = ?, ssh_keys = ? WHERE id = ?`, password, JSON.stringify(keys), assignmentId);
  }

  async moveAssignment(assignmentId: number, to: SlotSpec): Promise<void> {
    const row = await this.db.get<{ slot_name: string }>(`SELECT slot_name FROM assignments WHERE id = ?`, assignmentId);
    await this.db.run(`UPDATE assignments SET slot_name = ?, host_port = ? WHERE id = ?`, to.name, to.hostPort, assignmentId);
    if (row) await this.db.run(`UPDATE containers SET user_id = NULL, assignment_id = NULL WHERE pool_name = ? AND name = ?`, this.poolName, row.slot_name);
  }

  async releaseAssignment(assignmentId: number): Promise<void> {
    await this.db.run(`UPDATE assignments SET released_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ? AND released_at IS NULL`, assignmentId);
    await this.db.run(`UPDATE containers SET user_id = NULL, assignment_id = NULL WHERE assignment_id = ?`, assignmentId);
  }

  async activeAssignments(userId?: number): Promise<AssignmentRow[]> {
    return this.db.all<AssignmentRow[]>(
      `SELECT a.id, a.user_id, u.username, a.slot_name, a.type, a.host_port, a.ssh_password, a.ssh_keys, a.created_at
         FROM assignments a JOIN users u ON u.id = a.user_id
        WHERE a.pool_name = ? AND a.released_at IS NULL AND (? IS NULL OR a.user_id = ?)
        ORDER BY a.id`,
      this.poolName, userId ?? null, userId ?? null,
    );
  }

  async logEvent(kind: string, fields: { slot?: string | null; userId?: number | null; detail?: Record<string, unknown> }): Promise<void> {
    await this.db.run(
      `INSERT INTO events (pool_name, kind, slot_name, user_id, detail) VALUES (?, ?, ?, ?, ?)`,
      this.poolName, kind, fields.slot ?? null, fields.userId ?? null, JSON.stringify(fields.detail ?? {}),
    );
  }

  async recentEvents(limit: number, kinds?: string[]): Promise<EventRecord[]> {
    const filter = kinds?.length ? `AND kind IN (${kinds.map(() => '?').join(',')})` : '';
    const rows = await this.db.all<Array<Omit<EventRecord, 'detail'> & { detail: string }>>(
      `SELECT id, at, kind, slot_name, user_id, detail FROM events WHERE pool_name = ? ${filter} ORDER BY id DESC LIMIT ?`,
      this.poolName, ...(kinds ?? []), limit,
    );
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  }

  async getSetting(key: string): Promise<string | null> {
    const row = await this.db.get<{ value: string }>(`SELECT value FROM settings WHERE pool_name = ? AND key = ?`, this.poolName, key);
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db.run(
      `INSERT INTO settings (pool_name, key, value) VALUES (?, ?, ?) ON CONFLICT (pool_name, key) DO UPDATE SET value = excluded.value`,
      this.poolName, key, value,
    );
  }
}
