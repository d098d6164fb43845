/**
 * Registration in SQLite: the mode an admin chose (account_settings) and invite codes.
 *
 * Contract: invite codes are never stored, only their SHA-256 (hex); `consumeInvite` takes one
 * use atomically (two registrations racing for the last use: one wins), and `restoreInvite`
 * gives it back when the registration failed after all. Like accounts, not scoped to a pool.
 */
import type { InviteRow } from '../../shared/accounts.ts';
import type { Db } from './db.ts';

export const REGISTRATION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS account_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    uses_left INTEGER NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at TEXT
  )`,
];

export type { InviteRow };

export class RegistrationStore {
  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    for (const statement of REGISTRATION_SCHEMA) await this.db.exec(statement);
  }

  async setting(key: string): Promise<string | null> {
    const row = await this.db.get<{ value: string }>(`SELECT value FROM account_settings WHERE key = ?`, key);
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db.run(`INSERT INTO account_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }

  async createInvite(codeHash: string, uses: number, note: string, createdBy: number, expiresAt: Date | null): Promise<InviteRow> {
    const result = await this.db.run(
      `INSERT INTO invites (code_hash, note, uses_left, created_by, expires_at) VALUES (?, ?, ?, ?, ?)`,
      codeHash, note, uses, createdBy, expiresAt?.toISOString() ?? null,
    );
    return (await this.invite(result.lastID!))!;
  }

  invite(id: number): Promise<InviteRow | undefined> {
    return this.db.get<InviteRow>(
      `SELECT i.id, i.note, i.uses_left, u.username AS created_by, i.created_at, i.expires_at FROM invites i LEFT JOIN users u ON u.id = i.created_by WHERE i.id = ?`,
      id,
    );
  }

  listInvites(): Promise<InviteRow[]> {
    return this.db.all<InviteRow[]>(
      `SELECT i.id, i.note, i.uses_left, u.username AS created_by, i.created_at, i.expires_at FROM invites i LEFT JOIN users u ON u.id = i.created_by ORDER BY i.id`,
    );
  }

  /** The id of a usable invite with this code, or null. */
  async usableInvite(codeHash: string, now: Date): Promise<number | null> {
    const row = await this.db.get<{ id: number }>(
      `SELECT id FROM invites WHERE code_hash = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?)`,
      codeHash, now.toISOString(),
    );
    return row?.id ?? null;
  }

  /** Take one use of a usable invite; false when none was left (or it expired) meanwhile. */
  async consumeInvite(id: number, now: Date): Promise<boolean> {
    const result = await this.db.run(
      `UPDATE invites SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?)`,
      id, now.toISOString(),
    );
    return (result.changes ?? 0) > 0;
  }

  async restoreInvite(id: number): Promise<void> {
    await this.db.run(`UPDATE invites SET uses_left = uses_left + 1 WHERE id = ?`, id);
  }

  async deleteInvite(id: number): Promise<boolean> {
    const result = await this.db.run(`DELETE FROM invites WHERE id = ?`, id);
    return (result.changes ?? 0) > 0;
  }
}
