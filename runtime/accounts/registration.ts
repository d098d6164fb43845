/**
 * Who may register: the mode (`open`, `invite`, `closed`), invite codes made by admins, and a
 * budget of registrations per client address per hour.
 *
 * The mode starts as configured (POOLDECK_REGISTRATION); once an admin sets it, the stored choice
 * wins, across restarts too. `admit` runs before a registration does any costly work and answers
 * with a ticket whose `consume` takes the invite's use (atomically) right before the account is
 * written, and `restore` gives it back if writing failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { REGISTRATION_MODES, type RegistrationMode } from '../config.ts';
import type { Logger } from '../logger.ts';
import { RequestError } from '../http/request-error.ts';
import type { Db } from '../store/db.ts';
import { RegistrationStore, type InviteRow } from '../store/registration-store.ts';
import { RateBudget } from './rate-budget.ts';

export const INVITE_PREFIX = 'inv_';
const MODE_KEY = 'registration_mode';
const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');

export interface Ticket {
  consume(): Promise<void>;
  restore(): Promise<void>;
}
const NO_INVITE: Ticket = { consume: async () => undefined, restore: async () => undefined };

export class Registration {
  readonly store: RegistrationStore;
  /** Registrations per client address per hour (replaceable for tests). */
  budget: RateBudget;

  constructor(
    db: Db,
    private readonly configuredMode: RegistrationMode,
    perHour: number,
    private readonly log: Logger,
  ) {
    this.store = new RegistrationStore(db);
    this.budget = new RateBudget({ limit: perHour, windowMs: 3600_000 });
  }

  init(): Promise<void> {
    return this.store.init();
  }

  async mode(): Promise<RegistrationMode> {
    const stored = await this.store.setting(MODE_KEY);
    return stored && (REGISTRATION_MODES as readonly string[]).includes(stored) ? (stored as RegistrationMode) : this.configuredMode;
  }

  async setMode(mode: string, admin: string): Promise<RegistrationMode> {
    if (!(REGISTRATION_MODES as readonly string[]).includes(mode)) throw new RequestError(400, `registration mode must be one of: ${REGISTRATION_MODES.join(', ')}`);
    await this.store.setSetting(MODE_KEY, mode);
    this.log.info('registration.mode', { admin, mode });
    return mode as RegistrationMode;
  }

  async createInvite(adminId: number, options: { uses: number; note: string; hours: number }): Promise<InviteRow & { code: string }> {
    const code = INVITE_PREFIX + randomBytes(16).toString('base64url');
    const expiresAt = options.hours > 0 ? new Date(Date.now() + options.hours * 3600_000) : null;
    const row = await this.store.createInvite(hashCode(code), options.uses, options.note, adminId, expiresAt);
    this.log.info('invite.created', { id: row.id, uses: options.uses, hours: options.hours });
    return { ...row, code };
  }

  listInvites(): Promise<InviteRow[]> {
    return this.store.listInvites();
  }

  async deleteInvite(id: number): Promise<void> {
    if (!(await this.store.deleteInvite(id))) throw new RequestError(404, 'no such invite');
  }

  /** May someone at `ip` register now (with this invite code)? Throws 403/429 when not. */
  async admit(ip: string, invite: string | undefined): Promise<Ticket> {
    const mode = await this.mode();
    if (mode === 'closed') throw new RequestError(403, 'registration is closed on this server; ask an admin for an account', 'closed');
    let inviteId: number | null = null;
    if (mode === 'invite') {
      if (!invite) throw new RequestError(403, 'registration on this server needs an invite code; ask an admin for one', 'invite');
      inviteId = invite.length <= 100 ? await this.store.usableInvite(hashCode(invite.trim()), new Date()) : null;
      if (inviteId === null) throw new RequestError(403, 'that invite code is not valid (mistyped, used up or expired)', 'invite');
    }
    const wait = this.budget.take(ip);
    if (wait > 0) {
      this.log.warn('register.budget', { ip });
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      throw Object.assign(new RequestError(429, `too many registrations from your address; try again in ${seconds} s`, 'throttled'), { retryAfter: seconds });
    }
    if (inviteId === null) return NO_INVITE;
    const id = inviteId;
    return {
      consume: async () => {
        if (!(await this.store.consumeInvite(id, new Date()))) throw new RequestError(403, 'that invite code was used up a moment ago', 'invite');
      },
      restore: () => this.store.restoreInvite(id),
    };
  }
}
