/**
 * A user's own view of their login sessions: where each came from, and ending them. Sessions are
 * created by AccountsStore; this adds who-and-where columns (migrated in place on old databases).
 */
import type { Db } from './db.ts';

export interface SessionRow {
  id: number;
  created_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  token_hash: string;
}

export class SessionsStore {
  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    const columns = new Set((await this.db.all<Array<{ name: string }>>(`PRAGMA table_info(sessions)`)).map((c) => c.name));
    if (!columns.has('ip')) await this.db.exec(`ALTER TABLE sessions ADD COLUMN ip TEXT`);
    if (!columns.has('user_agent')) await this.db.exec(`ALTER TABLE sessions ADD COLUMN user_agent TEXT`);
  }

  async describe(tokenHash: string, ip: string | null, userAgent: string | null): Promise<void> {
    await this.db.run(`UPDATE sessions SET ip = ?, user_agent = ? WHERE token_hash = ?`, ip, userAgent?.slice(0, 256) ?? null, tokenHash);
  }

  list(userId: number, now: Date): Promise<SessionRow[]> {
    return this.db.all<SessionRow[]>(
      `SELECT id, created_at, expires_at, ip, user_agent, token_hash FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY id DESC`,
      userId, now.toISOString(),
    );
  }

  /** End one of this user's sessions; false when it is not theirs (or gone). */
  async end(userId: number, id: number): Promise<boolean> {
    const result = await this.db.run(`DELETE FROM sessions WHERE user_id = ? AND id = ?`, userId, id);
    return (result.changes ?? 0) > 0;
  }

  /** End every session of the user but the one with this hash (null: all of them). */
  async endOthers(userId: number, keepHash: string | null): Promise<number> {
    const result = await this.db.run(`DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?`, userId, keepHash);
    return result.changes ?? 0;
  }

  async setPasswordHash(userId: number, hash: string): Promise<void> {
    await this.db.run(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userId);
  }
}
