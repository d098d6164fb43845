/** `pooldeck pool status|init|add|resize|reinit`. */
import type { Command, Context } from '../command.ts';
import { parseSizes, typeName, usageLine, wholeNumber } from '../command.ts';
import { CliError, EXIT, usageError } from '../errors.ts';
import { countSlots, listOf, STATES, toSlot, type Slot } from '../model.ts';
import { age, confirm, plural, table, toMs } from '../output.ts';

const MAX_SIZE = 10_000;
const WAIT_OPTION = { wait: { type: 'boolean' as const, description: 'wait until every slot is available or assigned again (up to 5 minutes)' } };

export async function fetchPool(ctx: Context): Promise<{ slots: Slot[]; raw: unknown }> {
  const raw = await ctx.api.get('/api/admin/pool');
  return { slots: listOf(raw, 'slots', 'containers', 'pool').map(toSlot), raw };
}

/** Poll until no slot is starting/recreating/retiring (every one available or assigned). */
async function waitSettled(ctx: Context, timeoutMs = 5 * 60_000): Promise<Slot[]> {
  const started = Date.now();
  for (;;) {
    const { slots } = await fetchPool(ctx);
    const busy = slots.filter((s) => !(s.state === 'available' || s.state === 'assigned') || s.phase === 'retiring');
    if (!busy.length) return slots;
    if (Date.now() - started > timeoutMs) throw new CliError(EXIT.failed, `the pool did not settle within ${timeoutMs / 1000} s: ${busy.map((s) => `${s.name} ${s.state}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface ResizeResult { type: string; size: number; added: string[]; retired: string[]; kept: number; message: string | null }

/** The admin pool routes answer { result: { added, retired, kept, message? } }. */
function resultOf(answer: unknown): Record<string, unknown> {
  const a = (answer ?? {}) as Record<string, unknown>;
  return (a.result && typeof a.result === 'object' ? a.result : a) as Record<string, unknown>;
}

function toResize(type: string, size: number, answer: unknown): ResizeResult {
  const r = resultOf(answer);
  const names = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return { type, size, added: names(r.added), retired: names(r.retired), kept: Number(r.kept ?? 0), message: typeof r.message === 'string' ? r.message : null };
}

function describeResize(r: ResizeResult): string {
  const parts = [`${r.type}: ${plural(r.size, 'slot')} wanted`];
  if (r.added.length) parts.push(`added ${r.added.join(', ')}`);
  if (r.retired.length) parts.push(`retiring ${r.retired.join(', ')}`);
  if (r.kept) parts.push(`kept ${plural(r.kept, 'busy slot')} until released`);
  if (!r.added.length && !r.retired.length && !r.kept) parts.push('already that size');
  return parts.join('; ') + (r.message ? ` (${r.message})` : '');
}

const status: Command = {
  group: 'pool',
  name: 'status',
  summary: 'Counts per type and the state of every slot',
  description: 'JSON: { counts: { <type>: { available, assigned, failed, stopped, total } }, slots: [ { name, type, index, state, phase, hostPort, node, containerId, owner, assignmentId, since } ] } (node: on a Swarm).',
  examples: ['pooldeck pool status', 'pooldeck pool status --json | jq .counts'],
  async run(ctx) {
    const { slots } = await fetchPool(ctx);
    const counts = countSlots(slots);
    if (ctx.json) return ctx.printJson({ counts, slots });
    if (!slots.length) return ctx.print('The pool is empty.');
    ctx.print(table(['TYPE', ...STATES.map((s) => s.toUpperCase()), 'TOTAL'], Object.entries(counts).map(([type, c]) => [type, ...STATES.map((s) => c[s]), c.total])));
    ctx.print();
    const onNodes = slots.some((s) => s.node);
    ctx.print(table(['NAME', 'TYPE', ...(onNodes ? ['NODE'] : []), 'PORT', 'STATE', 'PHASE', 'CONTAINER', 'OWNER', 'SINCE'],
      slots.map((s) => [s.name, s.type, ...(onNodes ? [s.node] : []), s.hostPort, s.state, s.phase, s.containerId?.slice(0, 12), s.owner, s.since ? age(toMs(s.since)) : null])));
  },
};

const init: Command = {
  group: 'pool',
  name: 'init',
  summary: 'Make the pool match its configured sizes (resizes each type)',
  description: [
    'Resizes every type named in --size to that many slots. Without --size it reads the same',
    'POOLDECK_POOL variable the server is configured with (from this command\'s environment; the',
    'API does not report the server\'s configuration). Types not named are left alone. Shrinking',
    'never takes a container from its owner: busy slots are kept until released.',
    'JSON: { results: [ { type, size, added, retired, kept, message } ] }.',
  ].join('\n'),
  options: { size: { type: 'string', value: 'TYPE=N,…', description: 'sizes to reach, e.g. nginx=5,apache=3' }, ...WAIT_OPTION },
  examples: ['pooldeck pool init --size nginx=5,apache=3,python=3,node=2,ssh=2', 'POOLDECK_POOL=nginx=5,apache=3 pooldeck pool init --wait'],
  async run(ctx) {
    let sizes: Record<string, number>;
    if (typeof ctx.values.size === 'string') sizes = parseSizes(ctx.values.size, this);
    else if (ctx.io.env.POOLDECK_POOL) {
      try {
        sizes = parseSizes(ctx.io.env.POOLDECK_POOL, this);
      } catch (error) {
        throw usageError(`POOLDECK_POOL="${ctx.io.env.POOLDECK_POOL}": ${(error as Error).message.replace(/^--size: /, '')}`, usageLine(this));
      }
    } else throw usageError('give the sizes with --size (e.g. --size nginx=5,apache=3) or set POOLDECK_POOL as for the server; the API does not report the configured sizes', usageLine(this));
    const results: ResizeResult[] = [];
    for (const [type, size] of Object.entries(sizes)) {
      results.push(toResize(type, size, await ctx.api.post('/api/admin/pool/resize', { type, size })));
      if (!ctx.json) ctx.print(describeResize(results.at(-1)!));
    }
    if (ctx.values.wait) await waitSettled(ctx);
    if (ctx.json) ctx.printJson({ results });
    else if (ctx.values.wait) ctx.print('The pool has settled.');
  },
};

const add: Command = {
  group: 'pool',
  name: 'add',
  args: '<type> [count]',
  summary: 'Add slots of a type (count defaults to 1)',
  description: 'JSON: { type, size, added, retired, kept, message } (size is the new total).',
  options: WAIT_OPTION,
  positionals: [1, 2],
  examples: ['pooldeck pool add nginx', 'pooldeck pool add python 3 --wait'],
  async run(ctx) {
    const type = typeName(ctx.arg(0), this);
    const count = ctx.positionals[1] === undefined ? 1 : wholeNumber(ctx.positionals[1], 'count', 1, MAX_SIZE, this);
    const answer = await ctx.api.post('/api/admin/pool/add', { type, count });
    const result = toResize(type, Number(resultOf(answer).size ?? NaN), answer);
    if (ctx.values.wait) await waitSettled(ctx);
    if (ctx.json) return ctx.printJson(result);
    const total = Number.isFinite(result.size) ? `; ${type} now has ${plural(result.size, 'slot')}` : '';
    ctx.print(`Added ${plural(result.added.length, `${type} slot`)}${result.added.length ? ` (${result.added.join(', ')})` : ''}${total}.`);
  },
};

const resize: Command = {
  group: 'pool',
  name: 'resize',
  args: '<type> <size>',
  summary: 'Grow or shrink one type to exactly <size> slots',
  description: 'Shrinking retires free slots first; busy ones are kept until released.\nJSON: { type, size, added, retired, kept, message }.',
  options: WAIT_OPTION,
  positionals: [2, 2],
  examples: ['pooldeck pool resize nginx 8', 'pooldeck pool resize ssh 0'],
  async run(ctx) {
    const type = typeName(ctx.arg(0), this);
    const size = wholeNumber(ctx.positionals[1], 'size', 0, MAX_SIZE, this);
    const result = toResize(type, size, await ctx.api.post('/api/admin/pool/resize', { type, size }));
    if (ctx.values.wait) await waitSettled(ctx);
    if (ctx.json) return ctx.printJson(result);
    ctx.print(describeResize(result));
  },
};

const reinit: Command = {
  group: 'pool',
  name: 'reinit',
  summary: 'Recreate every free container from its image (assigned ones are skipped)',
  description: 'Asks for confirmation on a terminal; elsewhere --yes is required.\nJSON: { recreated: [names], skipped: [names] }.',
  options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' }, ...WAIT_OPTION },
  examples: ['pooldeck pool reinit --yes --wait'],
  async run(ctx) {
    if (!ctx.values.yes) {
      const ok = await confirm(ctx.io, 'Recreate every free container of the pool?', 'pool reinit recreates every free container');
      if (!ok) throw new CliError(EXIT.failed, 'not confirmed; nothing was recreated');
    }
    const answer = resultOf(await ctx.api.post('/api/admin/pool/reinit', {}));
    const recreated = Array.isArray(answer?.recreated) ? answer.recreated.map(String) : [];
    const skipped = Array.isArray(answer?.skipped) ? answer.skipped.map(String) : [];
    if (ctx.values.wait) await waitSettled(ctx);
    if (ctx.json) return ctx.printJson({ recreated, skipped });
    ctx.print(`Recreating ${plural(recreated.length, 'container')}${skipped.length ? `; skipped ${plural(skipped.length, 'assigned container')} (${skipped.join(', ')})` : ''}.`);
  },
};

export const poolCommands: Command[] = [status, init, add, resize, reinit];
