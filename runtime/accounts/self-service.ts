/**
 * What a user may do to their own account: change the password (the current one required; every
 * other session ends), see their sessions and end any of them, and delete the account (their
 * containers are released first). `removeAccount` is also what an admin's user deletion runs.
 */
import { RequestError } from '../http/request-error.ts';
import type { Logger } from '../logger.ts';
import type { SessionView } from '../../shared/accounts.ts';
import { SessionsStore } from '../store/sessions-store.ts';
import type { Db } from '../store/db.ts';
import { checkPassword, sha256, type Accounts, type AuthUser } from './accounts.ts';

/** The part of the pool an account removal needs: who holds what, and releasing it. */
export interface HeldContainers {
  slots(): Array<{ name: string; assignment: { id: number; userId: number } | null }>;
  release(assignmentId: number): Promise<unknown>;
}

export type { SessionView };

/** Lock the user out, release what they hold, delete them; answers the released container names. */
export async function removeAccount(accounts: Accounts, pool: HeldContainers, userId: number): Promise<string[]> {
  await accounts.lockOut(userId);
  const held = pool.slots().filter((s) => s.assignment?.userId === userId);
  for (const slot of held) await pool.release(slot.assignment!.id);
  await accounts.deleteUser(userId);
  return held.map((s) => s.name);
}

export class SelfService {
  readonly sessions: SessionsStore;

  constructor(
    db: Db,
    private readonly accounts: Accounts,
    private readonly pool: HeldContainers,
    private readonly log: Logger,
  ) {
    this.sessions = new SessionsStore(db);
  }

  init(): Promise<void> {
    return this.sessions.init();
  }

  /** Note where a new session came from, so its owner can recognise it later. */
  describeSession(token: string, ip: string | null, userAgent: string | null): Promise<void> {
    return this.sessions.describe(sha256(token), ip, userAgent);
  }

  async changePassword(user: AuthUser, current: string, next: string, ip: string, sessionToken: string | null): Promise<{ endedSessions: number }> {
    await this.accounts.confirmPassword(user.id, current, ip);
    checkPassword(next);
    if (next === current) throw new RequestError(400, 'the new password is the same as the current one');
    await this.sessions.setPasswordHash(user.id, await this.accounts.hashPassword(next));
    const endedSessions = await this.sessions.endOthers(user.id, sessionToken ? sha256(sessionToken) : null);
    this.accounts.revoked(user.id);
    this.log.info('account.password_changed', { user: user.username, endedSessions });
    return { endedSessions };
  }

  async listSessions(user: AuthUser, sessionToken: string | null): Promise<SessionView[]> {
    const current = sessionToken ? sha256(sessionToken) : null;
    return (await this.sessions.list(user.id, new Date())).map((s) => ({
      id: s.id, createdAt: s.created_at, expiresAt: s.expires_at, ip: s.ip, userAgent: s.user_agent, current: s.token_hash === current,
    }));
  }

  async endSession(user: AuthUser, id: number): Promise<void> {
    if (!(await this.sessions.end(user.id, id))) throw new RequestError(404, 'no such session');
    this.accounts.revoked(user.id);
  }

  async deleteAccount(user: AuthUser, password: string, ip: string): Promise<string[]> {
    await this.accounts.confirmPassword(user.id, password, ip);
    if (user.isAdmin && (await this.accounts.store.countAdmins()) <= 1) {
      throw new RequestError(409, 'you are the only admin; make another admin before deleting this account');
    }
    const released = await removeAccount(this.accounts, this.pool, user.id);
    this.log.info('account.deleted_by_owner', { user: user.username, released: released.length });
    return released;
  }
}
