/** `pooldeck containers list|release|delete`. */
import type { Command, Context } from '../command.ts';
import { usageLine } from '../command.ts';
import { CliError, EXIT, usageError } from '../errors.ts';
import { age, clock, table, toMs } from '../output.ts';
import { fetchPool } from './pool.ts';

function slotName(ctx: Context, command: Command): string {
  const name = ctx.arg(0);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw usageError(`"${name}" is not a container name (e.g. pool_nginx_0_8000)`, usageLine(command));
  return name;
}

const list: Command = {
  group: 'containers',
  name: 'list',
  summary: 'List assigned containers: owner, type, port, since',
  description: 'JSON: an array of { name, type, index, state, phase, hostPort, containerId, owner, assignmentId, since }.',
  options: { all: { type: 'boolean', short: 'a', description: 'every slot of the pool, assigned or not' } },
  examples: ['pooldeck containers list', 'pooldeck containers list --json | jq -r ".[] | select(.owner == \\"ann\\") | .name"'],
  async run(ctx) {
    const { slots } = await fetchPool(ctx);
    const shown = ctx.values.all ? slots : slots.filter((s) => s.state === 'assigned' || s.owner !== null || s.assignmentId !== null);
    if (ctx.json) return ctx.printJson(shown);
    if (!shown.length) return ctx.print(ctx.values.all ? 'The pool is empty.' : 'No container is assigned.');
    ctx.print(table(['NAME', 'OWNER', 'TYPE', 'PORT', 'STATE', 'ASSIGNMENT', 'SINCE', 'AGE'],
      shown.map((s) => [s.name, s.owner, s.type, s.hostPort, s.state, s.assignmentId, clock(toMs(s.since)), s.since ? age(toMs(s.since)) : null])));
  },
};

type ReleaseAnswer = { name?: string; user?: string };

/** DELETE /api/admin/containers/:name, with the name in the "no such container" sentence. */
async function releaseByName(ctx: Context, name: string): Promise<ReleaseAnswer> {
  try {
    return (await ctx.api.delete<ReleaseAnswer>(`/api/admin/containers/${encodeURIComponent(name)}`)) ?? {};
  } catch (error) {
    if (error instanceof CliError && error.status === 404) throw new CliError(EXIT.failed, `no container named ${name} in this pool (HTTP 404)`, undefined, 404);
    throw error;
  }
}

const release: Command = {
  group: 'containers',
  name: 'release',
  args: '<name>',
  summary: 'Take an assigned container back from its owner (it is wiped and returns to the pool)',
  description: 'Fails (exit 1) if there is no such container or it is not assigned.\nJSON: { released: name, owner }.',
  positionals: [1, 1],
  examples: ['pooldeck containers release pool_nginx_0_8000'],
  async run(ctx) {
    const name = slotName(ctx, this);
    const answer = await releaseByName(ctx, name);
    if (ctx.json) return ctx.printJson({ released: answer.name ?? name, owner: answer.user ?? null });
    ctx.print(`Released ${answer.name ?? name}${answer.user ? ` from ${answer.user}` : ''}; it is recreated empty and returns to the pool.`);
  },
};

const remove: Command = {
  group: 'containers',
  name: 'delete',
  args: '<name>',
  summary: 'Remove a container from the pool for good (released first if someone holds it)',
  description: [
    'The container is removed and its type shrinks by one (grow it again with "pooldeck pool add").',
    'Fails (exit 1) for an unknown container. JSON: { deleted: name, owner }.',
  ].join('\n'),
  positionals: [1, 1],
  examples: ['pooldeck containers delete pool_nginx_4_8004'],
  async run(ctx) {
    const name = slotName(ctx, this);
    let answer: { name?: string; released?: string | null };
    try {
      answer = (await ctx.api.delete<{ name?: string; released?: string | null }>(`/api/admin/slots/${encodeURIComponent(name)}`)) ?? {};
    } catch (error) {
      if (error instanceof CliError && error.status === 404) throw new CliError(EXIT.failed, `no container named ${name} in this pool (HTTP 404)`, undefined, 404);
      throw error;
    }
    if (ctx.json) return ctx.printJson({ deleted: answer.name ?? name, owner: answer.released ?? null });
    ctx.print(`Deleted ${answer.name ?? name}${answer.released ? ` (released from ${answer.released} first)` : ''}; the pool has one container less.`);
  },
};

export const containersCommands: Command[] = [list, release, remove];
