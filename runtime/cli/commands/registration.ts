/** `pooldeck registration show|set|invite|invites|revoke`: who may register, and invite codes. */
import type { Command, Context } from '../command.ts';
import { usageLine, wholeNumber } from '../command.ts';
import { usageError } from '../errors.ts';
import { listOf } from '../model.ts';
import { clock, table, toMs } from '../output.ts';

const MODES = ['open', 'invite', 'closed'];

interface Invite {
  id: number;
  note: string;
  usesLeft: number;
  createdBy: string | null;
  createdAt: string | null;
  expiresAt: string | null;
}

const toInvite = (raw: Record<string, unknown>): Invite => ({
  id: Number(raw.id),
  note: String(raw.note ?? ''),
  usesLeft: Number(raw.uses_left ?? 0),
  createdBy: raw.created_by === null || raw.created_by === undefined ? null : String(raw.created_by),
  createdAt: raw.created_at ? String(raw.created_at) : null,
  expiresAt: raw.expires_at ? String(raw.expires_at) : null,
});

function printInvites(ctx: Context, invites: Invite[]) {
  if (!invites.length) return ctx.print('No invite codes.');
  ctx.print(table(['ID', 'USES LEFT', 'EXPIRES', 'BY', 'NOTE'], invites.map((i) => [i.id, i.usesLeft, i.expiresAt ? clock(toMs(i.expiresAt)) : 'never', i.createdBy, i.note])));
}

const show: Command = {
  group: 'registration',
  name: 'show',
  summary: 'Show the registration mode and the invite codes',
  description: 'Modes: open (anyone may register), invite (only with a code from "pooldeck registration invite"), closed.\nJSON: { mode, invites: [{ id, note, usesLeft, createdBy, createdAt, expiresAt }] }.',
  examples: ['pooldeck registration show'],
  async run(ctx) {
    const answer = await ctx.api.get<{ mode?: unknown }>('/api/admin/registration');
    const mode = String(answer?.mode ?? '');
    const invites = listOf(answer, 'invites').map(toInvite);
    if (ctx.json) return ctx.printJson({ mode, invites });
    ctx.print(`Registration: ${mode}`);
    printInvites(ctx, invites);
  },
};

const set: Command = {
  group: 'registration',
  name: 'set',
  args: '<open|invite|closed>',
  choices: [...MODES],
  summary: 'Set the registration mode (kept across restarts)',
  description: 'JSON: { mode }.',
  positionals: [1, 1],
  examples: ['pooldeck registration set invite', 'pooldeck registration set closed'],
  async run(ctx) {
    const mode = ctx.positionals[0] ?? '';
    if (!MODES.includes(mode)) throw usageError(`the mode must be open, invite or closed, not "${mode}"`, usageLine(this));
    const answer = await ctx.api.put<{ mode?: unknown }>('/api/admin/registration', { mode });
    if (ctx.json) return ctx.printJson({ mode: answer?.mode });
    ctx.print(`Registration is now ${String(answer?.mode)}.`);
  },
};

const invite: Command = {
  group: 'registration',
  name: 'invite',
  summary: 'Make an invite code (printed only this once)',
  description: 'JSON: { code, id, usesLeft, expiresAt, note }.',
  options: {
    uses: { type: 'string', value: 'N', description: 'how many accounts the code may create (default 1)' },
    hours: { type: 'string', value: 'H', description: 'hours until it expires, 0 = never (default 168)' },
    note: { type: 'string', value: 'TEXT', description: 'a note for whom it is' },
  },
  examples: ['pooldeck registration invite', 'pooldeck registration invite --uses 30 --hours 48 --note "class 3b"'],
  async run(ctx) {
    const body: Record<string, unknown> = {};
    if (ctx.values.uses !== undefined) body.uses = wholeNumber(String(ctx.values.uses), '--uses', 1, 10_000, this);
    if (ctx.values.hours !== undefined) body.hours = wholeNumber(String(ctx.values.hours), '--hours', 0, 24 * 365, this);
    if (ctx.values.note !== undefined) body.note = String(ctx.values.note);
    const answer = await ctx.api.post<{ invite?: Record<string, unknown> }>('/api/admin/invites', body);
    const raw = answer?.invite ?? {};
    const made = { code: String(raw.code ?? ''), ...toInvite(raw) };
    if (ctx.json) return ctx.printJson({ code: made.code, id: made.id, usesLeft: made.usesLeft, expiresAt: made.expiresAt, note: made.note });
    ctx.print(made.code);
    ctx.io.stderr.write(`Invite ${made.id}: ${made.usesLeft} use(s), ${made.expiresAt ? `expires ${clock(toMs(made.expiresAt))}` : 'never expires'}. The code is shown only this once.\n`);
  },
};

const invites: Command = {
  group: 'registration',
  name: 'invites',
  summary: 'List invite codes (without the codes themselves)',
  description: 'JSON: an array of { id, note, usesLeft, createdBy, createdAt, expiresAt }.',
  examples: ['pooldeck registration invites'],
  async run(ctx) {
    const list = listOf(await ctx.api.get('/api/admin/invites'), 'invites').map(toInvite);
    if (ctx.json) return ctx.printJson(list);
    printInvites(ctx, list);
  },
};

const revoke: Command = {
  group: 'registration',
  name: 'revoke',
  args: '<invite id>',
  summary: 'Delete an invite code',
  positionals: [1, 1],
  examples: ['pooldeck registration revoke 3'],
  async run(ctx) {
    const id = wholeNumber(ctx.positionals[0], 'the invite id', 1, Number.MAX_SAFE_INTEGER, this);
    await ctx.api.delete(`/api/admin/invites/${id}`);
    if (ctx.json) return ctx.printJson({ revoked: id });
    ctx.print(`Revoked invite ${id}.`);
  },
};

export const registrationCommands: Command[] = [show, set, invite, invites, revoke];
