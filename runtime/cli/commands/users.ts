/** `pooldeck users list|delete`. */
import type { Command, Context } from '../command.ts';
import { usageLine } from '../command.ts';
import { CliError, EXIT, usageError } from '../errors.ts';
import { listOf, toUser, type User } from '../model.ts';
import { clock, confirm, table, toMs } from '../output.ts';

async function fetchUsers(ctx: Context): Promise<User[]> {
  return listOf(await ctx.api.get('/api/admin/users'), 'users').map(toUser);
}

const list: Command = {
  group: 'users',
  name: 'list',
  summary: 'List every account',
  description: 'JSON: an array of { id, username, email, isAdmin, createdAt, containers }.',
  examples: ['pooldeck users list', 'pooldeck users list --json | jq -r ".[].username"'],
  async run(ctx) {
    const users = await fetchUsers(ctx);
    if (ctx.json) return ctx.printJson(users);
    if (!users.length) return ctx.print('No users.');
    ctx.print(table(['ID', 'USERNAME', 'EMAIL', 'ADMIN', 'CONTAINERS', 'CREATED'], users.map((u) => [u.id, u.username, u.email, u.isAdmin ? 'yes' : '', u.containers, clock(toMs(u.createdAt))])));
  },
};

const remove: Command = {
  group: 'users',
  name: 'delete',
  args: '<username|id>',
  summary: 'Delete an account (its containers are released)',
  description: 'Asks for confirmation on a terminal; elsewhere --yes is required. You cannot delete yourself.\nJSON: { deleted: { id, username, email, isAdmin, createdAt, containers }, released: [container names] }.',
  options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' } },
  positionals: [1, 1],
  examples: ['pooldeck users delete ann --yes', 'pooldeck users delete 7 --yes'],
  async run(ctx) {
    const wanted = ctx.arg(0);
    if (!wanted.trim()) throw usageError('give a username or a numeric user id', usageLine(this));
    const users = await fetchUsers(ctx);
    const user = users.find((u) => u.username === wanted) ?? (/^\d+$/.test(wanted) ? users.find((u) => u.id === Number(wanted)) : undefined);
    if (!user) throw new CliError(EXIT.failed, `no user "${wanted}" (by username or id)`);
    if (!ctx.values.yes) {
      const ok = await confirm(ctx.io, `Delete user ${user.username} (id ${user.id}) and release their containers?`, `deleting user ${user.username} cannot be undone`);
      if (!ok) throw new CliError(EXIT.failed, 'not confirmed; nothing was deleted');
    }
    const answer = await ctx.api.delete<{ released?: unknown }>(`/api/admin/users/${user.id}`);
    const released = Array.isArray(answer?.released) ? answer.released.map(String) : [];
    if (ctx.json) return ctx.printJson({ deleted: user, released });
    ctx.print(`Deleted user ${user.username} (id ${user.id})${released.length ? `; released ${released.join(', ')}` : ''}.`);
  },
};

export const usersCommands: Command[] = [list, remove];
