/**
 * `pooldeck` against a real server: every subcommand run as a child process (the CLI's sources,
 * runtime/cli/bin.ts under tsx; test/integration/compiled.test.ts runs the compiled bin/pooldeck.js)
 * with an admin token from the API, its exit code, its --json, and its effect on the runtime.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { docker } from '../support/docker.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { COMMANDS } from '../../runtime/cli/main.ts';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const BIN = path.resolve('runtime/cli/bin.ts');

let deck: TestDeck;
let adminToken: string;
let annToken: string;
let home: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI with a clean environment: only PATH, HOME and what the test gives. */
function cli(args: string[], options: { token?: string | null; url?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home, POOLDECK_URL: options.url ?? deck.url, ...options.env };
  const token = options.token === undefined ? adminToken : options.token;
  if (token) env.POOLDECK_TOKEN = token;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

async function api<T = any>(method: string, route: string, body?: unknown, auth: { token?: string; cookie?: string } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = { origin: deck.url };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(deck.url + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

async function tokenFor(username: string, password: string): Promise<string> {
  const login = await api('POST', '/api/auth/login', { username, password });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const created = await api<{ token: string }>('POST', '/api/tokens', { name: 'cli-test' }, { cookie });
  return created.body.token;
}

async function registerUser(username: string): Promise<string> {
  const password = `${username}-password-123`;
  const res = await api('POST', '/api/auth/register', { username, email: `${username}@example.test`, password });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return tokenFor(username, password);
}

async function launchAs(token: string, type = 'nginx'): Promise<string> {
  const res = await api<{ container: { name: string } }>('POST', '/api/containers', { type }, { token });
  if (res.status !== 201) throw new Error(`launch: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.container.name;
}

const live = (type: string) => deck.runtime.slots().filter((s) => s.type === type && s.phase !== 'retiring');
const slot = (name: string) => deck.runtime.slots().find((s) => s.name === name);
const json = (run: Run) => JSON.parse(run.stdout);
const noTrace = (run: Run) => !/\n\s+at /.test(run.stderr) && !/Error:/.test(run.stderr);

async function deadUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

test.before(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-cli-home-'));
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,ssh=1' });
  adminToken = await tokenFor('admin', ADMIN_PASSWORD);
  annToken = await registerUser('ann');
});

test.after.always(async () => {
  await deck?.destroy();
  if (home) rmSync(home, { recursive: true, force: true });
});

test.serial('When --help is asked of pooldeck, a group or any subcommand, then usage is printed on stdout with exit 0', async (t) => {
  const top = await cli(['--help'], { token: null });
  t.is(top.code, 0);
  for (const word of ['login', 'users', 'pool', 'containers', 'monitor', 'Exit codes']) t.true(top.stdout.includes(word), word);
  t.is((await cli(['help', 'pool'], { token: null })).code, 0);
  const group = await cli(['monitor', '--help'], { token: null });
  t.is(group.code, 0);
  t.regex(group.stdout, /interval <seconds>/);
  for (const command of COMMANDS) {
    const words = [command.group, command.name].filter(Boolean);
    const run = await cli([...words, '--help'], { token: null });
    t.is(run.code, 0, words.join(' '));
    t.true(run.stdout.startsWith(`Usage: pooldeck ${words.join(' ')}`), words.join(' '));
    t.true(run.stdout.includes('--json'), words.join(' '));
  }
});

test.serial('When the arguments are wrong, then pooldeck exits 2 with a sentence and the usage, and the server is not changed', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /missing command/],
    [['frob'], /unknown command "frob"/],
    [['pool'], /"pooldeck pool" needs a command/],
    [['pool', 'frob'], /unknown command "pool frob"/],
    [['pool', 'resize', 'nginx'], /missing <type> <size>/],
    [['pool', 'resize', 'nginx', 'three'], /size must be a whole number/],
    [['pool', 'resize', 'nginx', '3', '4'], /too many arguments: 4/],
    [['pool', 'resize', 'NGINX!', '3'], /not a container type name/],
    [['pool', 'add', 'nginx', '0'], /count must be a whole number from 1/],
    [['pool', 'init'], /give the sizes with --size/],
    [['pool', 'init', '--size', 'nginx'], /not of the form type=count/],
    [['pool', 'init', '--size'], /--size needs a value/],
    [['pool', 'reinit'], /pass --yes to confirm/],
    [['pool', 'status', '--bogus'], /unknown option --bogus/],
    [['pool', 'status', '--url', 'ftp://example.test'], /--url: "ftp:\/\/example\.test" must be an http:\/\/ or https:\/\/ URL/],
    [['users', 'delete'], /missing <username\|id>/],
    [['users', 'delete', 'ann'], /pass --yes to confirm/],
    [['containers', 'release', 'no such name!'], /is not a container name/],
    [['monitor', 'interval', '0'], /from 1 to 86400/],
    [['monitor', 'interval', '1.5'], /whole number/],
    [['monitor', 'log', '--limit', 'lots'], /--limit must be a whole number/],
    [['login'], /give the account with --username/],
  ];
  const before = deck.runtime.slots().map((s) => `${s.name}:${s.containerId}`);
  for (const [args, message] of cases) {
    const run = await cli(args);
    t.is(run.code, 2, args.join(' '));
    t.regex(run.stderr, /^pooldeck: /, args.join(' '));
    t.regex(run.stderr, message, args.join(' '));
    t.regex(run.stderr, /Usage: pooldeck|pass --yes/, args.join(' '));
    t.true(noTrace(run), run.stderr);
    t.is(run.stdout, '', args.join(' '));
  }
  t.deepEqual(deck.runtime.slots().map((s) => `${s.name}:${s.containerId}`), before);
  t.true(await deck.accounts.store.userByName('ann') !== undefined);
});

test.serial('When pooldeck login gets the admin password on stdin, then it prints an export line with a working token', async (t) => {
  const run = await cli(['login', '--username', 'admin', '--password-stdin'], { token: null, stdin: `${ADMIN_PASSWORD}\n` });
  t.is(run.code, 0, run.stderr);
  const match = /^export POOLDECK_TOKEN=(pd_\S+)\n$/.exec(run.stdout);
  t.truthy(match, run.stdout);
  t.regex(run.stderr, /Created token "cli@/);
  const users = await cli(['users', 'list'], { token: match![1] });
  t.is(users.code, 0, users.stderr);

  const asJson = await cli(['login', '-u', 'admin', '--password-stdin', '--name', 'ci', '--json', '--url', deck.url], { token: null, stdin: ADMIN_PASSWORD, url: 'http://127.0.0.1:9' });
  t.is(asJson.code, 0, asJson.stderr);
  t.like(json(asJson), { name: 'ci', url: deck.url });
  t.regex(json(asJson).token, /^pd_/);
  t.is(typeof json(asJson).id, 'number');
  const tokens = await api<{ tokens: Array<{ name: string }> }>('GET', '/api/tokens', undefined, { token: adminToken });
  t.true(tokens.body.tokens.some((tk) => tk.name === 'ci'));
});

test.serial('When the password is wrong, a token is missing or invalid, or the token is not an admin\'s, then pooldeck exits 4', async (t) => {
  const wrong = await cli(['login', '-u', 'admin', '--password-stdin'], { token: null, stdin: 'not-the-password' });
  t.is(wrong.code, 4);
  t.regex(wrong.stderr, /^pooldeck: login refused: wrong username or password for admin/);
  const none = await cli(['pool', 'status'], { token: null });
  t.is(none.code, 4);
  t.regex(none.stderr, /no token: set POOLDECK_TOKEN or pass --token/);
  const bogus = await cli(['users', 'list'], { token: 'pd_not_a_real_token' });
  t.is(bogus.code, 4);
  t.regex(bogus.stderr, /\(401\).*not valid/);
  for (const args of [['users', 'list'], ['pool', 'status'], ['pool', 'resize', 'nginx', '5'], ['monitor', 'pause'], ['containers', 'list']]) {
    const run = await cli(args, { token: annToken });
    t.is(run.code, 4, args.join(' '));
    t.regex(run.stderr, /permission denied \(403\): only an admin may do this/, args.join(' '));
    t.true(noTrace(run));
  }
  t.is(live('nginx').length, 2, 'the refused resize changed nothing');
  t.false(deck.runtime.monitor().paused);
  const flagWins = await cli(['users', 'list', '--token', adminToken], { token: annToken });
  t.is(flagWins.code, 0, '--token overrides POOLDECK_TOKEN');
});

test.serial('When the server cannot be reached, then pooldeck exits 3 saying so in one sentence', async (t) => {
  const url = await deadUrl();
  const run = await cli(['pool', 'status'], { url });
  t.is(run.code, 3);
  t.is(run.stderr, `pooldeck: cannot reach ${url}: connection refused\n`);
  const flag = await cli(['monitor', 'log', '--url', url]);
  t.is(flag.code, 3);
  const host = await cli(['users', 'list', '--url', 'http://no-such-host.invalid:5000']);
  t.is(host.code, 3);
  t.regex(host.stderr, /cannot reach http:\/\/no-such-host\.invalid:5000: host (not found|name lookup failed)/);
  const login = await cli(['login', '-u', 'admin', '--password-stdin'], { url, token: null, stdin: 'x' });
  t.is(login.code, 3);
});

test.serial('When users are listed, then the table and the JSON show admin and ann', async (t) => {
  const table = await cli(['users', 'list']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^ID\s+USERNAME\s+EMAIL\s+ADMIN/);
  t.regex(table.stdout, /\badmin\b.*\byes\b/);
  t.regex(table.stdout, /\bann\b.*ann@example\.test/);
  const users = json(await cli(['users', 'list', '--json']));
  t.true(Array.isArray(users));
  t.like(users.find((u: { username: string }) => u.username === 'admin'), { isAdmin: true, containers: 0 });
  const ann = users.find((u: { username: string }) => u.username === 'ann');
  t.like(ann, { isAdmin: false, email: 'ann@example.test' });
  t.regex(ann.createdAt, /^\d{4}-\d\d-\d\dT/);
  t.deepEqual(Object.keys(ann).sort(), ['containers', 'createdAt', 'email', 'id', 'isAdmin', 'username']);
});

test.serial('When the pool status is asked, then it counts each type and lists every slot', async (t) => {
  const table = await cli(['pool', 'status']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^TYPE\s+AVAILABLE\s+ASSIGNED\s+FAILED\s+STOPPED\s+TOTAL\n/);
  t.regex(table.stdout, /nginx\s+2\s+0\s+0\s+0\s+2/);
  t.regex(table.stdout, /ssh\s+1\s+0\s+0\s+0\s+1/);
  for (const s of deck.runtime.slots()) t.true(table.stdout.includes(s.name), s.name);
  const status = json(await cli(['pool', 'status', '--json']));
  t.deepEqual(status.counts, { nginx: { available: 2, assigned: 0, failed: 0, stopped: 0, total: 2 }, ssh: { available: 1, assigned: 0, failed: 0, stopped: 0, total: 1 } });
  t.is(status.slots.length, 3);
  const first = deck.runtime.slots()[0];
  t.deepEqual(status.slots.find((s: { name: string }) => s.name === first.name), {
    name: first.name, type: first.type, index: first.index, state: 'available', phase: first.phase, hostPort: first.hostPort,
    containerId: first.containerId!.slice(0, 12), owner: null, assignmentId: null, node: null, since: status.slots.find((s: { name: string }) => s.name === first.name).since,
  });
});

test.serial('When ann holds a container, then containers list shows it and containers release takes it back', async (t) => {
  const name = await launchAs(annToken);
  const listed = await cli(['containers', 'list']);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^NAME\s+OWNER\s+TYPE\s+PORT\s+STATE/);
  t.regex(listed.stdout, new RegExp(`${name}\\s+ann\\s+nginx\\s+${slot(name)!.hostPort}\\s+assigned`));
  const rows = json(await cli(['containers', 'list', '--json']));
  t.is(rows.length, 1);
  t.like(rows[0], { name, owner: 'ann', type: 'nginx', state: 'assigned', hostPort: slot(name)!.hostPort, assignmentId: slot(name)!.assignment!.id });
  t.regex(rows[0].since, /^\d{4}-\d\d-\d\dT/);
  t.is(json(await cli(['containers', 'list', '--all', '--json'])).length, 3);

  const released = await cli(['containers', 'release', name, '--json']);
  t.is(released.code, 0, released.stderr);
  t.deepEqual(json(released), { released: name, owner: 'ann' });
  t.is(slot(name)!.assignment, null);
  t.true((await eventually(() => slot(name)!.state === 'available', 30_000)).ok);
  t.is((await cli(['containers', 'list'])).stdout, 'No container is assigned.\n');

  const again = await cli(['containers', 'release', name]);
  t.is(again.code, 1);
  t.regex(again.stderr, new RegExp(`^pooldeck: ${name} is not assigned to anyone \\(HTTP 409\\)`));
  const unknown = await cli(['containers', 'release', 'pool_nginx_99_1']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no container named pool_nginx_99_1 in this pool \(HTTP 404\)/);
});

test.serial('When containers delete names a container, then it is released if held and removed from the pool', async (t) => {
  const name = await launchAs(annToken);
  const count = live('nginx').length;
  const deleted = await cli(['containers', 'delete', name]);
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, new RegExp(`Deleted ${name} \\(released from ann first\\)`));
  t.true((await eventually(() => !slot(name), 30_000)).ok, 'the slot is gone');
  t.is(live('nginx').length, count - 1);
  const unknown = await cli(['containers', 'delete', name, '--json']);
  t.is(unknown.code, 1);
  t.is(unknown.stdout, '');
  t.regex(unknown.stderr, /no container named .* in this pool \(HTTP 404\)/);
  const restored = await cli(['pool', 'add', 'nginx', '1', '--wait']);
  t.is(restored.code, 0, restored.stderr);
  t.is(live('nginx').length, count);
});

test.serial('When pool resize, add and init run, then the runtime has that many slots', async (t) => {
  const grown = await cli(['pool', 'resize', 'nginx', '3', '--json']);
  t.is(grown.code, 0, grown.stderr);
  t.like(json(grown), { type: 'nginx', size: 3, retired: [], kept: 0 });
  t.is(json(grown).added.length, 1);
  t.is(live('nginx').length, 3);

  const added = await cli(['pool', 'add', 'nginx', '--wait']);
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /^Added 1 nginx slot \(pool_nginx_3_\d+\); nginx now has 4 slots\.\n$/);
  t.is(live('nginx').length, 4);
  t.true(deck.runtime.slots().every((s) => s.state === 'available'), '--wait waited for the new slots');

  const init = await cli(['pool', 'init', '--size', 'nginx=2,ssh=2', '--wait', '--json']);
  t.is(init.code, 0, init.stderr);
  const results = json(init).results;
  t.deepEqual(results.map((r: { type: string; size: number }) => [r.type, r.size]), [['nginx', 2], ['ssh', 2]]);
  t.is(results[0].retired.length, 2);
  t.is(results[1].added.length, 1);
  t.true((await eventually(() => deck.runtime.slots().filter((s) => s.type === 'nginx').length === 2, 30_000)).ok, 'retired slots are gone');
  t.is(live('ssh').length, 2);

  const fromEnv = await cli(['pool', 'init'], { env: { POOLDECK_POOL: 'nginx=2,ssh=1' } });
  t.is(fromEnv.code, 0, fromEnv.stderr);
  t.regex(fromEnv.stdout, /^nginx: 2 slots wanted; already that size\nssh: 1 slot wanted; retiring pool_ssh_1_\d+\n$/);
  t.true((await eventually(() => deck.runtime.slots().filter((s) => s.type === 'ssh').length === 1, 30_000)).ok);

  const unknown = await cli(['pool', 'resize', 'mysql', '2']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /^pooldeck: unknown container type "mysql"; known: .* \(HTTP 400\)\n$/);
  const tooBig = await cli(['pool', 'add', 'nginx', '500']);
  t.is(tooBig.code, 1);
  t.regex(tooBig.stderr, /\(HTTP 400\)/);
  t.is(live('nginx').length, 2);
});

test.serial('When pool reinit runs with --yes, then every free container is recreated', async (t) => {
  await eventually(() => deck.runtime.slots().every((s) => s.state === 'available'), 30_000);
  const before = new Map(deck.runtime.slots().map((s) => [s.name, s.containerId]));
  const run = await cli(['pool', 'reinit', '--yes', '--wait', '--json']);
  t.is(run.code, 0, run.stderr);
  t.deepEqual(json(run).recreated.sort(), [...before.keys()].sort());
  t.deepEqual(json(run).skipped, []);
  t.true(deck.runtime.slots().every((s) => s.state === 'available' && s.containerId !== before.get(s.name)));
  const human = await cli(['pool', 'reinit', '-y']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /^Recreating 3 containers\.\n$/);
  await eventually(() => deck.runtime.slots().every((s) => s.state === 'available'), 30_000);
});

test.serial('When the monitor is paused, resumed and given an interval, then the runtime follows', async (t) => {
  const interval = await cli(['monitor', 'interval', '7']);
  t.is(interval.code, 0, interval.stderr);
  t.is(interval.stdout, 'Monitor interval set: running, every 7 s.\n');
  t.is(deck.runtime.monitor().intervalMs, 7000);
  const paused = await cli(['monitor', 'pause', '--json']);
  t.is(paused.code, 0, paused.stderr);
  t.deepEqual(json(paused), { paused: true, intervalMs: 7000 });
  t.true(deck.runtime.monitor().paused);
  const resumed = await cli(['monitor', 'resume']);
  t.is(resumed.stdout, 'Monitor resumed: running, every 7 s.\n');
  t.false(deck.runtime.monitor().paused);
  t.deepEqual(json(await cli(['monitor', 'interval', '30', '--json'])), { paused: false, intervalMs: 30_000 });
  t.is(deck.runtime.monitor().intervalMs, 30_000);
});

test.serial('When monitor run and monitor log are asked, then the sweep and the recent log are printed', async (t) => {
  const run = await cli(['monitor', 'run', '--json']);
  t.is(run.code, 0, run.stderr);
  const sweep = json(run);
  t.like(sweep, { containers: deck.runtime.slots().length, findings: [], orphans: [], error: null });
  t.is(typeof sweep.durationMs, 'number');
  t.is(deck.runtime.monitor().lastSweep!.at, Date.parse(sweep.at));
  const human = await cli(['monitor', 'run']);
  t.regex(human.stdout, /^Sweep at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: 3 containers in \d+ ms, 1 docker call; all healthy\.\n$/);

  const log = await cli(['monitor', 'log', '--limit', '2']);
  t.is(log.code, 0, log.stderr);
  const lines = log.stdout.trim().split('\n');
  t.is(lines[0], 'Monitor running, every 30 s.');
  t.is(lines.length, 3);
  t.regex(lines[2], /sweep\s+3 containers in \d+ ms/);
  const logJson = json(await cli(['monitor', 'log', '--json', '--limit', '1']));
  t.like(logJson, { paused: false, intervalMs: 30_000 });
  t.is(logJson.sweeps.length, 1);
  t.is(logJson.sweeps[0].at, new Date(deck.runtime.monitor().lastSweep!.at).toISOString());
  t.true(Array.isArray(logJson.recoveries));
});

test.serial('When monitor log --follow runs while a held container is killed, then new sweeps and the recovery stream out until Ctrl-C', async (t) => {
  const name = await launchAs(annToken);
  const child = spawn(process.execPath, ['--import=tsx', BIN, 'monitor', 'log', '--follow', '--json', '--limit', '1', '--every', '1'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, POOLDECK_URL: deck.url, POOLDECK_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const events: Array<Record<string, any>> = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => events.push(JSON.parse(line)));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    t.true((await eventually(() => events.length >= 1, 15_000)).ok, stderr);
    t.is(events[0].kind, 'sweep');
    const seen = events.length;
    await deck.runtime.runHealthCheck();
    await docker('kill', name);
    deck.runtime.pauseMonitor();
    const streamed = await eventually(() => {
      const fresh = events.slice(seen);
      return fresh.some((e) => e.kind === 'sweep') && fresh.some((e) => e.kind === 'recovery' && e.name === name) && fresh.some((e) => e.kind === 'monitor' && e.paused === true);
    }, 20_000, 100);
    t.true(streamed.ok, JSON.stringify(events));
    const recovery = events.find((e) => e.kind === 'recovery' && e.name === name)!;
    t.is(typeof recovery.durationMs, 'number');
    t.is(recovery.userId, (await deck.accounts.store.userByName('ann'))!.id);
    child.kill('SIGINT');
    t.is(await exited, 0, stderr);
    t.is(stderr, '');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    deck.runtime.resumeMonitor();
  }
  const log = await cli(['monitor', 'log']);
  t.regex(log.stdout, new RegExp(`recovery\\s+${name} \\(user \\d+\\) back in \\d+ ms`));
});

test.serial('When users delete runs with --yes, then the account is gone and its containers are released', async (t) => {
  const held = deck.runtime.slots().find((s) => s.assignment?.username === 'ann')?.name ?? (await launchAs(annToken));
  const run = await cli(['users', 'delete', 'ann', '--yes', '--json']);
  t.is(run.code, 0, run.stderr);
  t.like(json(run), { deleted: { username: 'ann', isAdmin: false }, released: [held] });
  t.is(await deck.accounts.store.userByName('ann'), undefined);
  t.is(slot(held)!.assignment, null);

  await registerUser('bob');
  const bob = (await deck.accounts.store.userByName('bob'))!;
  const byId = await cli(['users', 'delete', String(bob.id), '-y']);
  t.is(byId.code, 0, byId.stderr);
  t.is(byId.stdout, `Deleted user bob (id ${bob.id}).\n`);
  t.is(await deck.accounts.store.userByName('bob'), undefined);

  const missing = await cli(['users', 'delete', 'nobody', '--yes']);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'pooldeck: no user "nobody" (by username or id)\n');
  const self = await cli(['users', 'delete', 'admin', '--yes']);
  t.is(self.code, 1);
  t.regex(self.stderr, /you cannot delete your own account \(HTTP 400\)/);
});

test.serial('When pooldeck audit runs, then it lists the admin actions of this run newest first and filters them', async (t) => {
  const run = await cli(['audit', '--action', 'admin.*', '--since', '1h', '--json']);
  t.is(run.code, 0, run.stderr);
  const entries = json(run) as Array<{ action: string; actor: string; detail: Record<string, unknown> }>;
  t.true(entries.length > 0);
  t.true(entries.every((e) => e.action.startsWith('admin.')));
  const deleted = entries.find((e) => e.action === 'admin.user.delete');
  t.truthy(deleted, 'the user deletion of the previous test is recorded');
  t.is(deleted!.actor, 'admin');
  t.true(entries.some((e) => e.action === 'admin.pool.resize' && e.detail.type === 'nginx'));

  const text = await cli(['audit', '--actor', 'admin', '--limit', '3']);
  t.is(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OK\s+DETAIL$/);
  t.is(lines.length, 4);
  t.true(lines.slice(1).every((l) => /\badmin\b/.test(l)));

  const bad = await cli(['audit', '--since', 'yesterday']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--since "yesterday" is not an age/);
  const help = await cli(['audit', '--help'], { token: null });
  t.is(help.code, 0);
  t.regex(help.stdout, /pooldeck audit/);
});
