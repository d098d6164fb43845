/**
 * Accounts: registration, password login with sessions, API tokens, SSH keys, and the one
 * `authenticate` function every entry point (HTTP and socket.io) uses to learn who is asking.
 *
 * Secrets (session cookies, `pd_` tokens) are 32 random bytes; only their SHA-256 is stored.
 * Passwords are bcrypt hashes, computed in worker threads (PasswordHasher) under two budgets:
 * password checks per client address per minute (429) and password jobs at once over all
 * clients (503). A login for an unknown user costs one bcrypt comparison like a known one.
 * Errors are RequestErrors carrying the HTTP status.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import bcrypt from 'bcryptjs';
import type { AccountLimits, Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { LoginThrottle } from './login-throttle.ts';
import { PasswordBusy, PasswordHasher } from './password-hasher.ts';
import { RateBudget } from './rate-budget.ts';
import { Registration } from './registration.ts';
import { RequestError } from '../http/request-error.ts';
import { KeyError, fingerprintOf, parsePublicKey } from './ssh-keys.ts';
import type { Db } from '../store/db.ts';
import { AccountsStore, type UserRow } from '../store/accounts-store.ts';

export interface AuthUser {
  id: number;
  username: string;
  email: string;
  isAdmin: boolean;
}

export interface AuthCredentials {
  /** The raw Cookie header. */
  cookie?: string;
  /** The raw Authorization header (`Bearer pd_…`). */
  authorization?: string;
  /** The request came over https: only the `__Host-` session cookie counts. */
  secure?: boolean;
}

export type Authenticate = (credentials: AuthCredentials) => Promise<AuthUser | null>;

/** Who is asking and how they proved it; `invalid` when a credential was offered and is wrong. */
export type Identity = { user: AuthUser; via: 'session' | 'token' } | { user: null; via: 'none' | 'invalid' };

export const SESSION_COOKIE = 'pooldeck_session';
/**
 * The session cookie's name over https: the `__Host-` prefix makes the browser refuse it unless it
 * is Secure, host-only and Path=/, so no sibling host (a container's host name under the same
 * domain) can plant or overwrite it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** The session token of a Cookie header: the `__Host-` one first; over https only that one counts. */
export function sessionToken(header: string | undefined, secure = false): string | null {
  return readCookie(header, SECURE_SESSION_COOKIE) ?? (secure ? null : readCookie(header, SESSION_COOKIE));
}
export const SESSION_TTL_MS = 14 * 24 * 3600_000;
export const TOKEN_PREFIX = 'pd_';
export const USERNAME_RE = /^[a-z0-9_-]{3,32}$/;
const EMAIL_RE = /^[^\s@\p{Cc}\p{Cf}]{1,64}@[^\s@\p{Cc}\p{Cf}]+\.[^\s@\p{Cc}\p{Cf}]+$/u;
const RESERVED = new Set(['admin', 'root', 'pooldeck', 'system']);
const BCRYPT_ROUNDS = 10;
const MAX_TOKENS = 50;
const MAX_KEYS = 20;

export const sha256 = (secret: string) => createHash('sha256').update(secret).digest('hex');
const newSecret = () => randomBytes(32).toString('base64url');

export function toAuthUser(row: UserRow): AuthUser {
  return { id: row.id, username: row.username, email: row.email, isAdmin: row.is_admin === 1 };
}

/** The value of one cookie in a Cookie header (first occurrence), or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  return null;
}

export function checkPassword(password: string): void {
  if (password.length < 8) throw new RequestError(400, 'password must be at least 8 characters');
  if (Buffer.byteLength(password, 'utf8') > 72) throw new RequestError(400, 'password must be at most 72 bytes');
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = { registration: 'open', registerPerHour: 30, loginPerAddressPerMinute: 30, passwordQueue: 64, passwordWorkers: 0 };

/** 429 with Retry-After. */
export function tooMany(message: string, waitMs: number): RequestError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return Object.assign(new RequestError(429, `${message}; try again in ${seconds} s`, 'throttled'), { retryAfter: seconds });
}

/** What the accounts tell the rest of the server: `revoked` when some credentials of a user stopped working. */
export interface AccountEvents {
  revoked: [userId: number];
}

export class Accounts {
  readonly store: AccountsStore;
  /**
   * Logout, a revoked token, a password change, an ended session, a lock-out or a deletion: live
   * connections (socket.io) check their credentials again at once instead of at their next sweep.
   */
  readonly events = new EventEmitter<AccountEvents>();
  /** Replaceable so tests can drive it with their own clock. */
  throttle = new LoginThrottle();
  /** Password checks per client address (replaceable for tests). */
  loginBudget: RateBudget;
  readonly hasher: PasswordHasher;
  readonly registration: Registration;
  /** Compared against when the user does not exist, so a miss costs as much as a wrong password. */
  private readonly dummyHash = bcrypt.hashSync(randomBytes(16).toString('hex'), BCRYPT_ROUNDS);

  constructor(
    db: Db,
    private readonly log: Logger,
    readonly limits: AccountLimits = DEFAULT_ACCOUNT_LIMITS,
  ) {
    this.store = new AccountsStore(db);
    this.loginBudget = new RateBudget({ limit: limits.loginPerAddressPerMinute, windowMs: 60_000 });
    this.hasher = new PasswordHasher({ workers: limits.passwordWorkers || undefined, maxQueued: limits.passwordQueue });
    this.registration = new Registration(db, limits.registration, limits.registerPerHour, log);
  }

  /** Create the tables and, on first start, the `admin` account. */
  static async open(db: Db, config: Pick<Config, 'adminPassword'> & Partial<Pick<Config, 'accounts'>>, log: Logger): Promise<Accounts> {
    const accounts = new Accounts(db, log, config.accounts);
    await accounts.store.init();
    await accounts.registration.init();
    await accounts.ensureAdmin(config.adminPassword);
    return accounts;
  }

  async close(): Promise<void> {
    await this.hasher.close();
  }

  /** bcrypt in a worker; a full queue is the global budget speaking (503, costs nothing). */
  private async passwordJob<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await job();
    } catch (error) {
      if (error instanceof PasswordBusy) {
        this.log.warn('password.busy', { queued: this.hasher.load });
        throw Object.assign(new RequestError(503, 'the server is checking too many passwords at once; try again in a few seconds', 'busy'), { retryAfter: 2 });
      }
      throw error;
    }
  }

  hashPassword(password: string): Promise<string> {
    return this.passwordJob(() => this.hasher.hash(password, BCRYPT_ROUNDS));
  }

  async ensureAdmin(configured: string | null): Promise<void> {
    if ((await this.store.countAdmins()) > 0 || (await this.store.userByName('admin'))) return;
    if (configured !== null) {
      try {
        checkPassword(configured);
      } catch (error) {
        throw new Error(`POOLDECK_ADMIN_PASSWORD: ${(error as Error).message}`);
      }
    }
    const password = configured ?? randomBytes(18).toString('base64url');
    await this.store.createUser('admin', 'admin@localhost', await this.hashPassword(password), true);
    if (configured !== null) {
      this.log.info('admin.created', { username: 'admin', message: 'created the admin account with the password from POOLDECK_ADMIN_PASSWORD' });
    } else {
      this.log.warn('admin.created', {
        username: 'admin',
        password,
        message: 'created the admin account with a generated password; it is shown only this once. Log in as admin with it now, or set POOLDECK_ADMIN_PASSWORD before the first start',
      });
    }
  }

  // ---- registration and login ----

  /**
   * Create an account. Checks, cheapest first: the fields (400), the registration mode, invite
   * and the address's budget (403/429), free names (409); then bcrypt, then the invite's use.
   */
  async register(input: { username: string; email: string; password: string; invite?: string }, ip = ''): Promise<AuthUser> {
    const username = input.username.trim().toLowerCase();
    const email = input.email.trim().toLowerCase();
    if (!USERNAME_RE.test(username)) throw new RequestError(400, 'username must be 3-32 characters: letters, digits, "_" or "-"');
    if (email.length > 254 || !EMAIL_RE.test(email)) throw new RequestError(400, 'email is not a valid address');
    checkPassword(input.password);
    if (RESERVED.has(username)) throw new RequestError(409, `the username "${username}" is reserved`);
    const ticket = await this.registration.admit(ip, input.invite);
    if (await this.store.userByName(username)) throw new RequestError(409, `the username "${username}" is already taken`);
    if (await this.store.userByEmail(email)) throw new RequestError(409, 'that email address is already registered');
    const hash = await this.hashPassword(input.password);
    await ticket.consume();
    try {
      const id = await this.store.createUser(username, email, hash);
      this.log.info('user.registered', { user: username, id, ip });
      return { id, username, email, isAdmin: false };
    } catch (error) {
      await ticket.restore().catch(() => undefined);
      if (/UNIQUE/.test(String(error))) throw new RequestError(409, 'that username or email address was registered a moment ago');
      throw error;
    }
  }

  /**
   * Check a password and open a session. Refused before any bcrypt work: a locked
   * (username, address) pair and an address over its budget of checks (429), a full queue (503).
   */
  async login(usernameInput: string, password: string, ip: string): Promise<{ user: AuthUser; token: string; expiresAt: Date }> {
    const username = usernameInput.trim().toLowerCase();
    const wait = this.throttle.retryAfterMs(username, ip);
    if (wait > 0) throw tooMany('too many failed logins', wait);
    const budgetWait = this.loginBudget.take(ip);
    if (budgetWait > 0) {
      this.log.warn('login.budget', { ip });
      throw tooMany('too many logins from your address', budgetWait);
    }
    const row = await this.store.userByName(username);
    const ok = await this.passwordJob(() => this.hasher.compare(password, row?.password_hash ?? this.dummyHash));
    if (!row || !ok) {
      this.throttle.failed(username, ip);
      this.log.warn('login.failed', { user: username.slice(0, 32), ip });
      throw new RequestError(401, 'wrong username or password');
    }
    this.throttle.succeeded(username, ip);
    const token = newSecret();
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.store.createSession(row.id, sha256(token), expiresAt);
    this.log.info('login', { user: row.username, ip });
    return { user: toAuthUser(row), token, expiresAt };
  }

  async logout(cookieHeader: string | undefined): Promise<void> {
    const token = sessionToken(cookieHeader);
    if (!token) return;
    const userId = await this.store.deleteSession(sha256(token));
    if (userId !== null) this.revoked(userId);
  }

  /** Some credentials of this user stopped working (see `events`). */
  revoked(userId: number): void {
    this.events.emit('revoked', userId);
  }

  // ---- who is asking ----

  async identify(credentials: AuthCredentials): Promise<Identity> {
    const { authorization, cookie } = credentials;
    if (authorization !== undefined && authorization !== '') {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
      const token = match?.[1];
      if (!token || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return { user: null, via: 'invalid' };
      const row = await this.store.userByToken(sha256(token));
      if (!row) return { user: null, via: 'invalid' };
      if (!row.last_used_at || Date.now() - Date.parse(row.last_used_at) > 60_000) {
        this.store.touchToken(row.token_id).catch((error) => this.log.warn('token.touch_failed', { error: String(error) }));
      }
      return { user: toAuthUser(row), via: 'token' };
    }
    const session = sessionToken(cookie, credentials.secure);
    if (session) {
      if (session.length > 200) return { user: null, via: 'invalid' };
      const row = await this.store.userBySession(sha256(session), new Date());
      return row ? { user: toAuthUser(row), via: 'session' } : { user: null, via: 'invalid' };
    }
    return { user: null, via: 'none' };
  }

  /** The user behind a Cookie header (session) or an Authorization header (API token), or null. */
  readonly authenticate: Authenticate = async (credentials) => (await this.identify(credentials)).user;

  // ---- API tokens ----

  async createToken(userId: number, name: string) {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 64) throw new RequestError(400, 'token name must be 1-64 characters');
    if ((await this.store.countTokens(userId)) >= MAX_TOKENS) throw new RequestError(409, `you already have ${MAX_TOKENS} tokens; revoke one first`);
    const token = TOKEN_PREFIX + newSecret();
    const row = await this.store.createToken(userId, trimmed, sha256(token));
    return { ...row, token };
  }

  listTokens(userId: number) {
    return this.store.listTokens(userId);
  }

  async revokeToken(userId: number, id: number): Promise<void> {
    if (!(await this.store.deleteToken(userId, id))) throw new RequestError(404, 'no such token');
    this.revoked(userId);
  }

  // ---- SSH keys ----

  async listKeys(userId: number) {
    return (await this.store.listKeys(userId)).map((k) => ({ ...k, fingerprint: fingerprintOf(k.public_key) }));
  }

  async addKey(userId: number, line: string) {
    let parsed;
    try {
      parsed = parsePublicKey(line);
    } catch (error) {
      if (error instanceof KeyError) throw new RequestError(400, `not a valid OpenSSH public key: ${error.message}`);
      throw error;
    }
    const existing = await this.store.listKeys(userId);
    if (existing.some((k) => k.public_key === parsed.key)) throw new RequestError(409, 'you have saved this key already');
    if (existing.length >= MAX_KEYS) throw new RequestError(409, `you already have ${MAX_KEYS} keys; delete one first`);
    const row = await this.store.addKey(userId, parsed.key, parsed.comment);
    return { ...row, fingerprint: parsed.fingerprint };
  }

  async deleteKey(userId: number, id: number): Promise<void> {
    if (!(await this.store.deleteKey(userId, id))) throw new RequestError(404, 'no such key');
  }

  /** For the pool (PoolDeps.userKeys): the keys an ssh container of this user accepts. */
  readonly userKeys = async (userId: number): Promise<string[]> =>
    (await this.store.listKeys(userId)).map((k) => (k.comment ? `${k.public_key} ${k.comment}` : k.public_key));

  // ---- admin ----

  async listUsers() {
    return (await this.store.listUsers()).map((u) => ({ id: u.id, username: u.username, email: u.email, is_admin: u.is_admin === 1, created_at: u.created_at }));
  }

  /** Make a user unable to act (sessions and tokens gone) before their containers are released. */
  /** A signed-in user proves it is them again (password change, account deletion); wrong → 403. */
  async confirmPassword(userId: number, password: string, ip: string): Promise<void> {
    const budgetWait = this.loginBudget.take(ip);
    if (budgetWait > 0) throw tooMany('too many password checks from your address', budgetWait);
    const row = await this.store.userById(userId);
    if (!row) throw new RequestError(401, 'your account no longer exists');
    const wait = this.throttle.retryAfterMs(row.username, ip);
    if (wait > 0) throw tooMany('too many wrong passwords', wait);
    if (!(await this.passwordJob(() => this.hasher.compare(password, row.password_hash)))) {
      this.throttle.failed(row.username, ip);
      throw new RequestError(403, 'the current password is not right');
    }
    this.throttle.succeeded(row.username, ip);
  }

  async lockOut(userId: number): Promise<void> {
    await this.store.deleteUserSessions(userId);
    await this.store.deleteUserTokens(userId);
    this.revoked(userId);
  }

  async deleteUser(userId: number): Promise<void> {
    if (!(await this.store.deleteUser(userId))) throw new RequestError(404, 'no such user');
    this.revoked(userId);
    this.log.info('user.deleted', { id: userId });
  }
}

