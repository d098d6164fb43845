/** `pooldeck audit`: who did what and when, newest first. */
import type { Command } from '../command.ts';
import { usageLine } from '../command.ts';
import { TOP_LEVEL_SUMMARY } from '../help.ts';
import { usageError } from '../errors.ts';
import { listOf } from '../model.ts';
import { clock, table, toMs } from '../output.ts';

/** `90m`, `2h`, `7d` or `45s` → seconds. */
function durationSeconds(raw: string): number | null {
  const match = /^(\d+)([smhd])$/.exec(raw.trim());
  if (!match) return null;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function summary(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ')
    .slice(0, 160);
}

export const auditCommand: Command = {
  group: '',
  name: 'audit',
  summary: TOP_LEVEL_SUMMARY.audit,
  description: [
    'Newest first. --action takes an exact action (auth.login) or a prefix ending in * (admin.*).',
    'JSON: an array of { id, at, actor, actorId, action, target, ok, status, ip, detail }.',
  ].join('\n'),
  options: {
    actor: { type: 'string', value: 'NAME', description: 'only what this user (or "system") did' },
    action: { type: 'string', value: 'ACTION', description: 'only this action, or a prefix such as admin.*' },
    target: { type: 'string', value: 'NAME', description: 'only actions on this container or id' },
    since: { type: 'string', value: 'AGE', description: 'only the last AGE, e.g. 30m, 2h, 7d' },
    failed: { type: 'boolean', description: 'only refused or failed actions' },
    limit: { type: 'string', value: 'N', description: 'at most N rows (1-1000, default 50)' },
  },
  examples: ['pooldeck audit --since 1h', 'pooldeck audit --action "admin.*"', 'pooldeck audit --actor ann --failed --json'],
  async run(ctx) {
    const query = new URLSearchParams();
    for (const key of ['actor', 'action', 'target'] as const) {
      const value = ctx.values[key];
      if (typeof value === 'string' && value) query.set(key, value);
    }
    if (typeof ctx.values.since === 'string') {
      const seconds = durationSeconds(ctx.values.since);
      if (seconds === null) throw usageError(`--since "${ctx.values.since}" is not an age such as 30m, 2h or 7d`, usageLine(this));
      query.set('since', String(seconds));
    }
    if (ctx.values.failed) query.set('ok', 'false');
    const limit = typeof ctx.values.limit === 'string' ? ctx.values.limit : '50';
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) throw usageError('--limit must be a whole number from 1 to 1000', usageLine(this));
    query.set('limit', limit);
    const entries = listOf(await ctx.api.get(`/api/admin/audit?${query}`), 'entries');
    if (ctx.json) return ctx.printJson(entries);
    if (!entries.length) return ctx.print('No matching audit entries.');
    ctx.print(
      table(
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'OK', 'DETAIL'],
        entries.map((e) => [clock(toMs(e.at)), String(e.actor ?? ''), String(e.action ?? ''), e.target === null ? null : String(e.target), e.ok ? 'yes' : `no (${String(e.status ?? '')})`, summary((e.detail ?? {}) as Record<string, unknown>)]),
      ),
    );
  },
};
