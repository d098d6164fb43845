/** Opens the SQLite file (WAL) and brings its schema up to date. */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { open, type Database } from 'sqlite';
import sqlite3 from 'sqlite3';

export type Db = Database<sqlite3.Database, sqlite3.Statement>;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`,
  `CREATE TABLE IF NOT EXISTS containers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    container_id TEXT UNIQUE,
    name TEXT NOT NULL,
    image_name TEXT NOT NULL,
    image_type TEXT NOT NULL,
    pool_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('available', 'assigned', 'failed', 'stopped')),
    phase TEXT NOT NULL DEFAULT '',
    host_port INTEGER NOT NULL,
    container_port INTEGER NOT NULL,
    has_custom_files INTEGER NOT NULL DEFAULT 0,
    from_pool INTEGER NOT NULL DEFAULT 1,
    pool_name TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    assignment_id INTEGER REFERENCES assignments(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (pool_name, name)
  )`,
  `CREATE TABLE IF NOT EXISTS assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pool_name TEXT NOT NULL,
    slot_name TEXT NOT NULL,
    type TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    ssh_password TEXT,
    ssh_keys TEXT,
    created_at TEXT NOT NULL,
    released_at TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS assignments_active ON assignments (pool_name, slot_name) WHERE released_at IS NULL`,
  `CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    pool_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    slot_name TEXT,
    user_id INTEGER,
    detail TEXT NOT NULL DEFAULT '{}'
  )`,
  `CREATE INDEX IF NOT EXISTS events_kind ON events (pool_name, kind, id)`,
  `CREATE TABLE IF NOT EXISTS settings (
    pool_name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (pool_name, key)
  )`,
];

/**
 * The database holds live ssh passwords and session hashes: its directory is 0700 and the file
 * (with its -wal and -shm, which SQLite creates with the database file's mode) 0600, whatever
 * the umask. Slot directories below it stay readable to the containers: a bind mount does not
 * pass through its parents' permissions.
 */
function lockDown(file: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

export async function openDb(file: string, migrations: string[] = []): Promise<Db> {
  if (file !== ':memory:') lockDown(file);
  const db = await open({ filename: file, driver: sqlite3.Database });
  await db.exec('PRAGMA journal_mode = WAL');
  await db.exec('PRAGMA synchronous = NORMAL');
  await db.exec('PRAGMA foreign_keys = ON');
  await db.exec('PRAGMA busy_timeout = 5000');
  for (const statement of [...SCHEMA, ...migrations]) await db.exec(statement);
  return db;
}
