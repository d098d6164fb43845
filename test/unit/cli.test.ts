/** The CLI's pure parts: argument checks, URL check, tables, and the mapping of API answers. */
import test from 'ava';
import { PassThrough } from 'node:stream';
import { normaliseUrl } from '../../runtime/cli/client.ts';
import { GLOBAL_OPTIONS, parseSizes, wholeNumber } from '../../runtime/cli/command.ts';
import { CliError } from '../../runtime/cli/errors.ts';
import { COMMANDS, run } from '../../runtime/cli/main.ts';
import { countSlots, toMonitor, toSlot } from '../../runtime/cli/model.ts';
import { table } from '../../runtime/cli/output.ts';

async function runIn(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: new PassThrough(),
    env,
    untilInterrupted: () => new Promise(() => undefined),
  });
  return { code, stdout, stderr };
}

test('When sizes are given as type=n pairs, then they parse; anything else is a usage error', (t) => {
  t.deepEqual(parseSizes('nginx=5, apache=0,ssh=2'), { nginx: 5, apache: 0, ssh: 2 });
  for (const bad of ['', 'nginx', 'nginx=-1', 'nginx=5,nginx=6', 'Nginx=1', 'nginx=1.5']) {
    const error = t.throws(() => parseSizes(bad), { instanceOf: CliError }, bad);
    t.is(error!.code, 2, bad);
  }
});

test('When a number argument is checked, then only whole numbers in range pass', (t) => {
  t.is(wholeNumber('7', 'n', 1, 10), 7);
  for (const bad of ['0', '11', '1.5', '1e1', ' ', 'x', undefined]) t.throws(() => wholeNumber(bad, 'n', 1, 10), { instanceOf: CliError });
});

test('When a server URL is checked, then http(s) URLs lose their trailing slash and others are usage errors', (t) => {
  t.is(normaliseUrl('http://127.0.0.1:5000/'), 'http://127.0.0.1:5000');
  t.is(normaliseUrl('https://deck.example.org/pooldeck/'), 'https://deck.example.org/pooldeck');
  for (const bad of ['127.0.0.1:5000', 'ftp://x', 'http://x/?a=1', 'nope']) t.is(t.throws(() => normaliseUrl(bad), { instanceOf: CliError })!.code, 2, bad);
});

test('When rows are tabulated, then columns align, numbers right-align and empty cells show "-"', (t) => {
  t.is(table(['NAME', 'PORT', 'OWNER'], [['a', 8000, null], ['bbb', 80, 'ann']]), 'NAME  PORT  OWNER\na     8000  -\nbbb     80  ann');
});

test('When the admin pool and monitor answers are mapped, then the CLI shapes come out', (t) => {
  const slot = toSlot({ name: 'pool_nginx_0_8000', type: 'nginx', index: 0, state: 'assigned', phase: 'serving', host_port: 8000, container_id: 'abc', owner: 'ann', owner_id: 2, assignment_id: 4, since: '2025-01-01T00:00:00.000Z', error: null });
  t.deepEqual(slot, { name: 'pool_nginx_0_8000', type: 'nginx', index: 0, state: 'assigned', phase: 'serving', hostPort: 8000, node: null, containerId: 'abc', owner: 'ann', assignmentId: 4, since: '2025-01-01T00:00:00.000Z' });
  t.deepEqual(countSlots([slot, { ...slot, state: 'available' }]).nginx, { available: 1, assigned: 1, failed: 0, stopped: 0, total: 2 });
  const monitor = toMonitor({
    monitor: { paused: true, intervalMs: 7000, lastSweep: null },
    sweeps: [{ at: 2000, durationMs: 1, containers: 3, dockerCalls: 1, findings: [], orphans: [] }, { at: 1000, durationMs: 1, containers: 3, dockerCalls: 1, findings: [], orphans: [] }],
    recoveries: [{ id: 9, at: '2025-01-01T00:00:01.000Z', kind: 'recovery', slot_name: 'pool_nginx_0_8000', user_id: 2, detail: { durationMs: 800, attempts: 1, containerId: 'def' } }],
  });
  t.like(monitor, { paused: true, intervalMs: 7000 });
  t.deepEqual(monitor.sweeps.map((s) => s.at), [new Date(1000).toISOString(), new Date(2000).toISOString()], 'oldest first');
  t.like(monitor.recoveries[0], { id: 9, kind: 'recovery', name: 'pool_nginx_0_8000', userId: 2, durationMs: 800, attempts: 1, containerId: 'def' });
});

test('When the CLI runs in-process with bad words, then it answers with exit 2 and never calls the server', async (t) => {
  const none = await runIn([]);
  t.is(none.code, 2);
  t.regex(none.stderr, /^pooldeck: missing command\n/);
  const unknown = await runIn(['containers', 'explode'], { POOLDECK_TOKEN: 'pd_x', POOLDECK_URL: 'http://127.0.0.1:9' });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command "containers explode"/);
  const help = await runIn(['help', 'users', 'delete']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: pooldeck users delete <username\|id> \[--yes\]/);
  const noToken = await runIn(['users', 'list']);
  t.is(noToken.code, 4);
});

test('When any command gets --help, then its usage is printed with exit 0; an unknown option or command is exit 2 with a sentence and the usage', async (t) => {
  for (const command of COMMANDS) {
    const words = [command.group, command.name].filter(Boolean);
    const help = await runIn([...words, '--help']);
    t.is(help.code, 0, words.join(' '));
    t.true(help.stdout.startsWith(`Usage: pooldeck ${words.join(' ')}`), words.join(' '));
    const bogus = await runIn([...words, '--bogus'], { POOLDECK_TOKEN: 'pd_x', POOLDECK_URL: 'http://127.0.0.1:9' });
    t.is(bogus.code, 2, `${words.join(' ')} --bogus`);
    t.regex(bogus.stderr, /^pooldeck: unknown option --bogus\nUsage: pooldeck /, words.join(' '));
    t.is(bogus.stdout, '');
  }
  for (const words of [['frob'], ['frob', '--help'], ['pool', 'frob'], ['help', 'frob']]) {
    const unknown = await runIn(words);
    t.is(unknown.code, 2, words.join(' '));
    t.regex(unknown.stderr, /^pooldeck: unknown command "/, words.join(' '));
  }
});

test('When pooldeck completion is asked for a shell it does not know or none, then it is exit 2 with a sentence; for bash and zsh it prints a script with no token and no server', async (t) => {
  const fish = await runIn(['completion', 'fish']);
  t.is(fish.code, 2);
  t.regex(fish.stderr, /^pooldeck: no completion for "fish"; choose bash or zsh\nUsage: pooldeck completion <bash\|zsh>/);
  const none = await runIn(['completion']);
  t.is(none.code, 2);
  t.regex(none.stderr, /missing <bash\|zsh>/);
  for (const shell of ['bash', 'zsh']) {
    const script = await runIn(['completion', shell]);
    t.is(script.code, 0);
    t.regex(script.stdout, /\ncomplete -F _pooldeck pooldeck\n$/);
  }
});

test('When an option name is used by several commands, then it takes a value in all of them or in none (the completion script skips option values by name)', (t) => {
  const kinds = new Map<string, Set<string>>();
  for (const options of [GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})]) {
    for (const [name, o] of Object.entries(options)) kinds.set(name, (kinds.get(name) ?? new Set()).add(o.type));
  }
  const mixed = [...kinds].filter(([, types]) => types.size > 1).map(([name]) => name);
  t.deepEqual(mixed, []);
});
