/** `pooldeck login`: trade a username and password for an API token. */
import os from 'node:os';
import type { Command } from '../command.ts';
import { usageLine } from '../command.ts';
import { TOP_LEVEL_SUMMARY } from '../help.ts';
import { CliError, EXIT, usageError } from '../errors.ts';
import { promptPassword, readAll } from '../output.ts';

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export const loginCommand: Command = {
  group: '',
  name: 'login',
  summary: TOP_LEVEL_SUMMARY.login,
  description: [
    'Logs in with a username and password, creates an API token named --name and prints it as a',
    'shell line, so that  eval "$(pooldeck login -u admin --password-stdin < pw)"  sets it up.',
    'The password is read from stdin with --password-stdin, otherwise asked for on the terminal.',
    'The token is shown once; the login session is closed afterwards. Nothing is written to disk.',
    'JSON: { id, name, token, url }.',
  ].join('\n'),
  options: {
    username: { type: 'string', short: 'u', value: 'NAME', description: 'account to log in as' },
    'password-stdin': { type: 'boolean', description: 'read the password from stdin (one trailing newline is dropped)' },
    name: { type: 'string', value: 'LABEL', description: 'label of the new token (default cli@<hostname>)' },
  },
  needsToken: false,
  examples: ['pooldeck login -u admin', 'printf %s "$ADMIN_PASSWORD" | pooldeck login -u admin --password-stdin', 'eval "$(pooldeck login -u admin --password-stdin < ~/.pooldeck-password)"'],
  async run(ctx) {
    const username = ctx.values.username;
    if (typeof username !== 'string' || !username.trim()) throw usageError('give the account with --username', usageLine(this));
    const password = ctx.values['password-stdin']
      ? (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '')
      : await promptPassword(ctx.io, `Password for ${username} at ${ctx.api.url}: `);
    if (!password) throw usageError('the password is empty');
    const name = typeof ctx.values.name === 'string' && ctx.values.name.trim() ? ctx.values.name.trim() : `cli@${os.hostname()}`;

    let login;
    try {
      login = await ctx.api.request('POST', '/api/auth/login', { body: { username, password }, anonymous: true, headers: { origin: ctx.api.origin } });
    } catch (error) {
      if (error instanceof CliError && (error.status === 401 || error.status === 403)) throw new CliError(EXIT.auth, `login refused: wrong username or password for ${username}`, undefined, error.status);
      throw error;
    }
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    if (!cookie) throw new CliError(EXIT.failed, 'the server accepted the login but set no session cookie');
    const session = { anonymous: true, headers: { cookie, origin: ctx.api.origin } };
    const created = await ctx.api.post<Record<string, unknown>>('/api/tokens', { name }, session);
    const token = created?.token;
    if (typeof token !== 'string') throw new CliError(EXIT.failed, 'the server created a token but did not return it');
    await ctx.api.request('POST', '/api/auth/logout', { ...session, body: {} }).catch(() => undefined);

    if (ctx.json) return ctx.printJson({ id: created.id ?? null, name: created.name ?? name, token, url: ctx.api.url });
    ctx.print(`export POOLDECK_TOKEN=${shellQuote(token)}`);
    if (typeof ctx.values.url === 'string') ctx.print(`export POOLDECK_URL=${shellQuote(ctx.api.url)}`);
    ctx.io.stderr.write(`Created token "${name}" for ${username}; it is not shown again.\n`);
  },
};
