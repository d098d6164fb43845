/** The audit table: one row per thing someone (or the supervisor) did, kept for a configured time. */
import type { Db } from './db.ts';

export const AUDIT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    ok INTEGER NOT NULL,
    status INTEGER,
    ip TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
  )`,
  `CREATE INDEX IF NOT EXISTS audit_at ON audit (at)`,
  `CREATE INDEX IF NOT EXISTS audit_action ON audit (action, id)`,
];

export interface AuditEntry {
  at: Date;
  /** The user who acted; null for the system (supervisor) or an unknown login name. */
  actorId: number | null;
  /** A user name, or `system`. For a failed login: the name that was tried. */
  actor: string;
  /** Dotted verb: `auth.login`, `container.launch`, `admin.pool.resize`, `pool.recovered`, … */
  action: string;
  target?: string | null;
  ok: boolean;
  /** The HTTP status of the answer; over socket.io, the status the same answer has over HTTP (`detail.via` says which). */
  status?: number | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Omit<AuditEntry, 'at' | 'detail'> {
  id: number;
  at: string;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  actor?: string;
  /** Exact action, or a prefix ending in `.` / `*` (`admin.*`). */
  action?: string;
  target?: string;
  since?: Date;
  until?: Date;
  ok?: boolean;
  /** Rows older than this id (paging, newest first). */
  before?: number;
  limit: number;
}

interface Row {
  id: number;
  at: string;
  actor_id: number | null;
  actor: string;
  action: string;
  target: string | null;
  ok: number;
  status: number | null;
  ip: string | null;
  detail: string;
}

export class SqliteAuditStore {
  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    for (const statement of AUDIT_SCHEMA) await this.db.exec(statement);
  }

  async insert(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const values = entries.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    const params = entries.flatMap((e) => [
      e.at.toISOString(), e.actorId, e.actor, e.action, e.target ?? null, e.ok ? 1 : 0, e.status ?? null, e.ip ?? null, JSON.stringify(e.detail ?? {}),
    ]);
    await this.db.run(`INSERT INTO audit (at, actor_id, actor, action, target, ok, status, ip, detail) VALUES ${values}`, params);
  }

  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.actor) {
      where.push('actor = ?');
      params.push(query.actor);
    }
    if (query.action) {
      const prefix = query.action.endsWith('*') ? query.action.slice(0, -1) : query.action.endsWith('.') ? query.action : null;
      if (prefix !== null) {
        where.push("action LIKE ? ESCAPE '\\'");
        params.push(prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%');
      } else {
        where.push('action = ?');
        params.push(query.action);
      }
    }
    if (query.target) {
      where.push('target = ?');
      params.push(query.target);
    }
    if (query.since) {
      where.push('at >= ?');
      params.push(query.since.toISOString());
    }
    if (query.until) {
      where.push('at < ?');
      params.push(query.until.toISOString());
    }
    if (query.ok !== undefined) {
      where.push('ok = ?');
      params.push(query.ok ? 1 : 0);
    }
    if (query.before) {
      where.push('id < ?');
      params.push(query.before);
    }
    const rows = await this.db.all<Row[]>(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, query.limit],
    );
    return rows.map((r) => ({
      id: r.id, at: r.at, actorId: r.actor_id, actor: r.actor, action: r.action, target: r.target,
      ok: r.ok === 1, status: r.status, ip: r.ip, detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  /** Delete rows older than `cutoff`; answers how many went. */
  async prune(cutoff: Date): Promise<number> {
    const result = await this.db.run('DELETE FROM audit WHERE at < ?', [cutoff.toISOString()]);
    return result.changes ?? 0;
  }
}
