/**
 * Into a container over socket.io, on a real server, real dockerd and real containers: the
 * web terminal (docker exec with a TTY), the log stream and the stats stream. Only the holder
 * and admins get in; every refusal is an ack error; closing or disconnecting leaves no process.
 */
import test, { type ExecutionContext } from 'ava';
import type { LogLine, StatsSample } from '../../shared/console-events.ts';
import { docker } from '../support/docker.ts';
import { eventually, fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { TerminalClient, ask, emitAck, openSocket, type PoolSocket } from '../support/sockets.ts';
import { adminClient, form, newTokenUser, type Client } from './client.ts';

let deck: TestDeck;
const sockets: PoolSocket[] = [];

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=3,apache=1,python=1,node=1' });
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await deck?.destroy();
});

async function connect(client: Client): Promise<PoolSocket> {
  const socket = await openSocket(deck.url, { token: client.token! });
  sockets.push(socket);
  return socket;
}

/** Launch a container (nginx unless told), released again when the test ends. */
async function launched(t: ExecutionContext, client: Client, type = 'nginx') {
  const reply = await client.post('/api/containers', { type });
  if (reply.status !== 201) throw new Error(`launch: ${reply.status} ${JSON.stringify(reply.body)}`);
  const container = reply.body.container as { id: number; name: string; host_port: number; url: string };
  t.teardown(async () => {
    await client.del(`/api/containers/${container.id}`);
  });
  return container;
}

/** Processes in the container, as the host sees them (needs no ps inside the image). */
async function processes(name: string): Promise<string[]> {
  const out = await docker('top', name, '-o', 'pid,args');
  return out.split('\n').slice(1).map((l) => l.trim().replace(/^\d+\s+/, ''));
}

test.serial('When the holder follows the logs of their nginx container and requests a page, then the request line arrives on the stream', async (t) => {
  const owner = await newTokenUser(deck, 'logs');
  const container = await launched(t, owner);
  const socket = await connect(owner);
  const lines: LogLine[] = [];
  socket.on('logs:data', (p) => lines.push(...p.lines));

  const { handle } = await ask<{ handle: string }>(socket, 'logs:subscribe', { id: container.id, tail: 10, follow: true });
  t.regex(handle, /^l-/);
  const path = `/probe-${Date.now()}.html`;
  const page = await fetchText(`http://127.0.0.1:${container.host_port}${path}`);
  t.is(page.status, 404);
  const seen = await eventually(() => lines.some((l) => l.text.includes(`"GET ${path} HTTP/1.1" 404`)), 5000);
  t.true(seen.ok, `the request line arrives; got ${JSON.stringify(lines.slice(-3))}`);
  t.log(`request line on the stream after ${seen.ms} ms`);
  t.is(lines.find((l) => l.text.includes(path))!.source, 'stdout');

  const ended = new Promise<{ reason: string }>((resolve) => socket.once('logs:end', resolve));
  t.true(await ask(socket, 'logs:unsubscribe', { handle }));
  t.is((await ended).reason, 'unsubscribed');
  const unknown = await emitAck(socket, 'logs:unsubscribe', { handle });
  t.deepEqual(unknown, { error: 'no open logs with that handle' });

  // Without follow: the tail, then the end.
  const tail: LogLine[] = [];
  socket.on('logs:data', (p) => tail.push(...p.lines));
  const done = new Promise<{ handle: string; reason: string }>((resolve) => socket.once('logs:end', resolve));
  const once = await ask<{ handle: string }>(socket, 'logs:subscribe', { id: container.id, tail: 1, follow: false });
  const end = await done;
  t.is(end.handle, once.handle);
  t.is(end.reason, 'end of the log');
  t.is(tail.length, 1, 'exactly the last line');
  t.true(tail[0].text.includes(path));
});

test.serial('When the holder subscribes to stats, then CPU, memory and network numbers arrive about once a second and received bytes grow with traffic', async (t) => {
  const owner = await newTokenUser(deck, 'stats');
  const container = await launched(t, owner);
  const socket = await connect(owner);
  const samples: StatsSample[] = [];
  socket.on('stats:sample', (s) => samples.push(s));
  let ended = '';
  socket.on('stats:end', (p) => (ended = p.reason));
  const { handle } = await ask<{ handle: string }>(socket, 'stats:subscribe', { id: container.id });
  t.true((await eventually(() => samples.length >= 1 || ended !== '', 10_000)).ok && ended === '', `a first sample arrives${ended ? `; the stream ended: ${ended} (ops/scripts/ensure-docker.sh mounts what docker stats needs)` : ''}`);
  for (let i = 0; i < 5; i++) await fetchText(`http://127.0.0.1:${container.host_port}/?n=${i}`);
  t.true((await eventually(() => samples.length >= 3, 10_000)).ok, 'samples keep coming');

  const first = samples[0];
  const last = samples.at(-1)!;
  t.is(last.handle, handle);
  t.is(last.memoryLimitBytes, 256 * 1024 * 1024, 'the configured memory limit');
  t.true(last.memoryBytes > 0 && last.memoryBytes < last.memoryLimitBytes);
  t.true(last.memoryPercent > 0 && last.memoryPercent < 100);
  t.is(last.cpuLimit, 0.5);
  t.true(samples.every((s) => s.cpuPercent >= 0 && s.cpuPercent <= 200));
  t.true(last.pids >= 1, 'nginx has processes');
  t.true(last.rxBytes > first.rxBytes, `received bytes grew (${first.rxBytes} → ${last.rxBytes})`);
  const gaps = samples.slice(1).map((s, i) => s.at - samples[i].at);
  t.true(gaps.every((g) => g >= 500 && g <= 3000), `about once a second: ${gaps.join(', ')} ms`);
  t.true(samples.some((s) => s.rxRate > 0), 'a rate is computed between readings');
  t.true(await ask(socket, 'stats:unsubscribe', { handle }));
});

test.serial('When another user asks for the terminal, logs or stats of a container, then each is refused with an ack error; an admin gets in', async (t) => {
  const owner = await newTokenUser(deck, 'own');
  const other = await newTokenUser(deck, 'oth');
  const container = await launched(t, owner);
  const socket = await connect(other);
  const heard: string[] = [];
  socket.onAny((event) => {
    if (event !== 'pool:counts') heard.push(event);
  });
  const refusal = { error: 'you have no container with that id' };
  t.deepEqual(await emitAck(socket, 'terminal:open', { id: container.id, cols: 80, rows: 24 }), refusal);
  t.deepEqual(await emitAck(socket, 'logs:subscribe', { id: container.id }), refusal);
  t.deepEqual(await emitAck(socket, 'stats:subscribe', { id: container.id }), refusal);
  t.deepEqual(await emitAck(socket, 'terminal:open', { id: 999_999, cols: 80, rows: 24 }), refusal, 'same answer as for a container that does not exist');
  t.deepEqual(await emitAck(socket, 'terminal:open', { id: container.id }), { error: 'cols must be a whole number from 2 to 1000' });
  t.deepEqual(await emitAck(socket, 'terminal:open', 'nope'), { error: 'the payload must be an object' });
  t.deepEqual(await emitAck(socket, 'terminal:input', { handle: 'x', data: 'id\n' }), { error: 'no open terminal with that handle' });
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(heard, [], 'nothing about the container reached the other user');
  t.deepEqual(await processes(container.name).then((p) => p.filter((a) => /bash|sh -l/.test(a))), [], 'no shell was started');

  const adminHttp = await adminClient(deck);
  const token = (await adminHttp.post('/api/tokens', { name: 'streams test' })).body.token as string;
  const admin = await openSocket(deck.url, { token });
  sockets.push(admin);
  const term = await TerminalClient.open(admin, container.id);
  t.is(term.user, 'user');
  await term.run('echo admin-$((6*7))', /admin-42/);
  await term.close();
  const logs = await ask<{ handle: string }>(admin, 'logs:subscribe', { id: container.id, follow: false });
  t.regex(logs.handle, /^l-/);
});

test.serial('When the holder opens a terminal, then the shell runs as the terminal user (not the server\'s) in /srv/www, sees their files, follows resizes, and closing it leaves no process behind', async (t) => {
  const owner = await newTokenUser(deck, 'term');
  const container = await launched(t, owner);
  t.is((await owner.post(`/api/containers/${container.id}/files`, form({ 'hello.txt': 'hi there' }))).status, 201);
  const socket = await connect(owner);

  const started = performance.now();
  const term = await TerminalClient.open(socket, container.id, { cols: 100, rows: 30 });
  t.log(`terminal open in ${Math.round(performance.now() - started)} ms`);
  t.is(term.user, 'user');
  t.true((await eventually(() => /\$ $/.test(term.output), 5000)).ok, `a prompt arrives: ${JSON.stringify(term.output)}`);
  t.regex(await term.run('id -un; pwd; ls /srv/www', /hello\.txt/), /user\r\n\/srv\/www\r\n.*hello\.txt/s);
  t.regex(await term.run('echo $TERM; readlink /proc/$$/exe', /\/(bash|sh)\r\n/), /xterm-256color\r\n.*bash/s, 'bash, since the image has it');
  t.regex(await term.run('stty size', /\d+ \d+\r\n/), /30 100\r\n/);
  t.true(await ask(socket, 'terminal:resize', { handle: term.handle, cols: 132, rows: 43 }));
  t.regex(await term.run('stty size', /\d+ \d+\r\n/), /43 132\r\n/, 'the TTY follows the window');

  await term.run('sleep 1234 & nohup sleep 1235 >/dev/null 2>&1 & echo started-$!', /started-\d+/);
  t.true((await processes(container.name)).includes('sleep 1234'), 'the background job runs');
  t.true((await processes(container.name)).includes('sleep 1235'), 'and one that ignores hang-ups');
  t.not(await docker('inspect', '-f', '{{len .ExecIDs}}', container.name), '0', 'Docker lists the exec');
  const closed = performance.now();
  t.true(await term.close());
  t.log(`closed in ${Math.round(performance.now() - closed)} ms`);
  t.like(term.exit, { reason: 'closed' });
  const left = await processes(container.name);
  t.deepEqual(left.filter((p) => !p.startsWith('nginx')), [], `only nginx is left: ${left.join(' | ')}`);
  const noExec = await eventually(async () => (await docker('inspect', '-f', '{{len .ExecIDs}}', container.name)) === '0', 5000, 100);
  t.true(noExec.ok, 'no exec lingers in Docker either');
  t.deepEqual(await emitAck(socket, 'terminal:input', { handle: term.handle, data: 'id\n' }), { error: 'no open terminal with that handle' });
});

test.serial('When the shell exits by itself, then the client hears the exit code', async (t) => {
  const owner = await newTokenUser(deck, 'exit');
  const container = await launched(t, owner);
  const socket = await connect(owner);
  const term = await TerminalClient.open(socket, container.id);
  term.type('exit 3\n');
  t.true((await eventually(() => term.exit !== null, 5000)).ok);
  t.deepEqual(term.exit, { reason: 'the shell exited with code 3', code: 3 });
});

test.serial('When the socket disconnects or the container is released, then the shell and the streams end', async (t) => {
  const owner = await newTokenUser(deck, 'disc');
  const container = await launched(t, owner);

  const first = await connect(owner);
  const term = await TerminalClient.open(first, container.id);
  await term.run('sleep 4321 & echo bg-$!', /bg-\d+/);
  t.true((await processes(container.name)).includes('sleep 4321'));
  first.disconnect();
  const gone = await eventually(async () => (await processes(container.name)).every((p) => p.startsWith('nginx')), 10_000, 200);
  t.true(gone.ok, 'the shell and its job are gone after the disconnect');
  t.log(`gone ${gone.ms} ms after the disconnect`);

  const second = await connect(owner);
  const again = await TerminalClient.open(second, container.id);
  const logsEnd = new Promise<{ reason: string }>((resolve) => second.once('logs:end', resolve));
  const statsEnd = new Promise<{ reason: string }>((resolve) => second.once('stats:end', resolve));
  await ask(second, 'logs:subscribe', { id: container.id });
  await ask(second, 'stats:subscribe', { id: container.id });
  t.is((await owner.del(`/api/containers/${container.id}`)).status, 200);
  t.true((await eventually(() => again.exit !== null, 10_000)).ok, 'the terminal hears the release');
  t.is(again.exit!.reason, 'the container was released');
  t.is((await logsEnd).reason, 'the container was released');
  t.is((await statsEnd).reason, 'the container was released');
  t.deepEqual(await emitAck(second, 'terminal:open', { id: container.id, cols: 80, rows: 24 }), { error: 'you have no container with that id' });
});

test.serial('When a connection opens more terminals at once than allowed, then the extra ones are refused and closing frees a place', async (t) => {
  const owner = await newTokenUser(deck, 'many');
  const container = await launched(t, owner);
  const socket = await connect(owner);
  const answers = await Promise.all(Array.from({ length: 6 }, () => emitAck<{ handle: string }>(socket, 'terminal:open', { id: container.id, cols: 80, rows: 24 })));
  const opened = answers.filter((a): a is { data: { handle: string } } => 'data' in a);
  t.is(opened.length, 4);
  t.deepEqual(answers.filter((a) => 'error' in a), [
    { error: 'at most 4 terminals at once per connection; close one first' },
    { error: 'at most 4 terminals at once per connection; close one first' },
  ]);
  t.true(await ask(socket, 'terminal:close', { handle: opened[0].data.handle }));
  const again = await TerminalClient.open(socket, container.id);
  t.regex(again.handle, /^t-/);
  socket.disconnect();
  const gone = await eventually(async () => (await processes(container.name)).every((p) => p.startsWith('nginx')), 15_000, 200);
  t.true(gone.ok, 'all four shells end with the connection');
});

test.serial('When the holder of an apache, python or node container opens its terminal, then the shell runs as the terminal user, not the user that serves the port, in the web root', async (t) => {
  const owner = await newTokenUser(deck, 'types');
  const socket = await connect(owner);
  const expected: Record<string, string> = { apache: 'user', python: 'user', node: 'user' };
  for (const [type, user] of Object.entries(expected)) {
    const container = await launched(t, owner, type);
    const term = await TerminalClient.open(socket, container.id);
    t.is(term.user, user, type);
    t.regex(await term.run('echo "$(id -u):$(id -un):$(pwd)"; ls /srv/www', /index\.html/), new RegExp(`[1-9]\\d*:${user}:/srv/www\r\n.*index\\.html`, 's'), type);
    await term.close();
  }
});
