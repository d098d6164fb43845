/**
 * Accounts in SQLite: users (table from db.ts), sessions, API tokens and SSH public keys.
 *
 * Contract: secrets are never stored — sessions and tokens are looked up by the SHA-256 (hex) of
 * the secret the client holds; every row of sessions/tokens/ssh_keys goes with its user
 * (ON DELETE CASCADE). Unlike the pool store, nothing here is scoped to a pool name: accounts
 * belong to the data directory.
 */
import type { Db } from './db.ts';

export const ACCOUNT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)`,
  `CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used_at TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user_id)`,
  `CREATE TABLE IF NOT EXISTS ssh_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    public_key TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (user_id, public_key)
  )`,
];

export interface UserRow {
  id: number;
  username: string;
  email: string;
  password_hash: string;
  is_admin: number;
  created_at: string;
}

export interface TokenRow {
  id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface KeyRow {
  id: number;
  public_key: string;
  comment: string;
  created_at: string;
}

const USER_COLUMNS = 'u.id, u.username, u.email, u.password_hash, u.is_admin, u.created_at';

export class AccountsStore {
  constructor(private readonly db: Db) {}

  async init(): Promise<void> {
    for (const statement of ACCOUNT_SCHEMA) await this.db.exec(statement);
    await this.deleteExpiredSessions();
  }

  // ---- users ----

  userById(id: number): Promise<UserRow | undefined> {
    return this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`, id);
  }

  userByName(username: string): Promise<UserRow | undefined> {
    return this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.username = ?`, username);
  }

  userByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.email = ?`, email);
  }

  async createUser(username: string, email: string, passwordHash: string, isAdmin = false): Promise<number> {
    const result = await this.db.run(
      `INSERT INTO users (username, email, password_hash, is_admin) VALUES (?, ?, ?, ?)`,
      username, email, passwordHash, isAdmin ? 1 : 0,
    );
    return result.lastID!;
  }

  listUsers(): Promise<UserRow[]> {
    return this.db.all<UserRow[]>(`SELECT ${USER_COLUMNS} FROM users u ORDER BY u.id`);
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM users WHERE is_admin = 1`);
    return row?.n ?? 0;
  }

  async deleteUser(id: number): Promise<boolean> {
    const result = await this.db.run(`DELETE FROM users WHERE id = ?`, id);
    return (result.changes ?? 0) > 0;
  }

  // ---- sessions ----

  async createSession(userId: number, tokenHash: string, expiresAt: Date): Promise<void> {
    await this.db.run(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (?, ?, ?)`, userId, tokenHash, expiresAt.toISOString());
  }

  userBySession(tokenHash: string, now: Date): Promise<UserRow | undefined> {
    return this.db.get<UserRow>(
      `SELECT ${USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?`,
      tokenHash, now.toISOString(),
    );
  }

  /** End the session with this hash; its user's id, or null when there was none. */
  async deleteSession(tokenHash: string): Promise<number | null> {
    const row = await this.db.get<{ user_id: number }>(`DELETE FROM sessions WHERE token_hash = ? RETURNING user_id`, tokenHash);
    return row?.user_id ?? null;
  }

  async deleteUserSessions(userId: number): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE user_id = ?`, userId);
  }

  async deleteExpiredSessions(): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE expires_at <= ?`, new Date().toISOString());
  }

  // ---- API tokens ----

  async createToken(userId: number, name: string, tokenHash: string): Promise<TokenRow> {
    const result = await this.db.run(`INSERT INTO tokens (user_id, name, token_hash) VALUES (?, ?, ?)`, userId, name, tokenHash);
    return (await this.db.get<TokenRow>(`SELECT id, name, created_at, last_used_at FROM tokens WHERE id = ?`, result.lastID))!;
  }

  userByToken(tokenHash: string): Promise<(UserRow & { token_id: number; last_used_at: string | null }) | undefined> {
    return this.db.get(
      `SELECT ${USER_COLUMNS}, t.id AS token_id, t.last_used_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`,
      tokenHash,
    );
  }

  async touchToken(id: number): Promise<void> {
    await this.db.run(`UPDATE tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`, id);
  }

  listTokens(userId: number): Promise<TokenRow[]> {
    return this.db.all<TokenRow[]>(`SELECT id, name, created_at, last_used_at FROM tokens WHERE user_id = ? ORDER BY id`, userId);
  }

  async countTokens(userId: number): Promise<number> {
    const row = await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM tokens WHERE user_id = ?`, userId);
    return row?.n ?? 0;
  }

  async deleteToken(userId: number, id: number): Promise<boolean> {
    const result = await this.db.run(`DELETE FROM tokens WHERE id = ? AND user_id = ?`, id, userId);
    return (result.changes ?? 0) > 0;
  }

  async deleteUserTokens(userId: number): Promise<void> {
    await this.db.run(`DELETE FROM tokens WHERE user_id = ?`, userId);
  }

  // ---- SSH keys ----

  listKeys(userId: number): Promise<KeyRow[]> {
    return this.db.all<KeyRow[]>(`SELECT id, public_key, comment, created_at FROM ssh_keys WHERE user_id = ? ORDER BY id`, userId);
  }

  async addKey(userId: number, publicKey: string, comment: string): Promise<KeyRow> {
    const result = await this.db.run(`INSERT INTO ssh_keys (user_id, public_key, comment) VALUES (?, ?, ?)`, userId, publicKey, comment);
    return (await this.db.get<KeyRow>(`SELECT id, public_key, comment, created_at FROM ssh_keys WHERE id = ?`, result.lastID))!;
  }

  async deleteKey(userId: number, id: number): Promise<boolean> {
    const result = await this.db.run(`DELETE FROM ssh_keys WHERE id = ? AND user_id = ?`, id, userId);
    return (result.changes ?? 0) > 0;
  }
}
