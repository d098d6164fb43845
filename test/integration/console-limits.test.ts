/**
 * The holder of a container is the attacker, and so is a client that stops reading: on a real
 * server, real dockerd and real containers, the buffers they can fill through terminals, logs
 * and connections stay bounded.
 *
 * - Typed input a shell does not read: refused with an ack error past the shell's bound.
 * - A container writing its log as fast as it can to a client that stopped reading: the log
 *   stream is paused (Docker keeps the rest), the server's memory does not follow, and the
 *   client gets the lines once it reads again.
 * - Connections per account: capped, with a sentence.
 */
import test from 'ava';
import { docker } from '../support/docker.ts';
import { eventually } from '../support/eventually.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { TerminalClient, ask, emitAck, openSocket, type PoolSocket } from '../support/sockets.ts';
import { newTokenUser } from './client.ts';

let deck: TestDeck;
const sockets: PoolSocket[] = [];
const MB = 1024 * 1024;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2' });
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await deck?.destroy();
});

async function connect(token: string): Promise<PoolSocket> {
  const socket = await openSocket(deck.url, { token });
  sockets.push(socket);
  return socket;
}

/** The server runs in this process: its resident memory, sampled until `stop()`, and the peak growth. */
function watchMemory() {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return (peak - base) / MB;
    },
  };
}

async function healthzMs(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${deck.url}/healthz`);
  await res.text();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  return performance.now() - started;
}

test.serial('When the holder types far more into a terminal than its shell reads, then the input is refused past a bound and the server stays small and answering', async (t) => {
  const owner = await newTokenUser(deck, 'typist');
  const reply = await owner.post('/api/containers', { type: 'nginx' });
  t.is(reply.status, 201);
  const container = reply.body.container as { id: number; name: string };
  const socket = await connect(owner.token!);
  const term = await TerminalClient.open(socket, container.id);
  await term.run('echo ready-$((1+1))', /ready-2/);
  // The shell runs a command that reads nothing; every keystroke now waits in the terminal.
  term.type('sleep 600\n');
  await eventually(async () => (await docker('top', container.name, '-o', 'pid,args')).includes('sleep 600'), 5000, 50);

  const memory = watchMemory();
  const chunk = ('x'.repeat(1023) + '\n').repeat(16); // 16 KiB, the most one input event may carry
  let sent = 0;
  let refusal: string | null = null;
  while (sent < 64 * MB) {
    const answer = await emitAck(socket, 'terminal:input', { handle: term.handle, data: chunk });
    if ('error' in answer) {
      refusal = answer.error;
      break;
    }
    sent += chunk.length;
  }
  const grew = memory.stop();
  t.log(`input accepted before the refusal: ${(sent / MB).toFixed(2)} MiB; server memory grew ${grew.toFixed(1)} MB; /healthz ${(await healthzMs()).toFixed(1)} ms`);
  t.regex(refusal ?? '', /^the terminal is not reading what you type/, `refused after ${sent} bytes`);
  t.true(sent < 16 * MB, `the bound held: ${sent} bytes taken`);
  t.true(grew < 64, `server memory grew ${grew.toFixed(1)} MB`);

  // The terminal still closes cleanly and a new one works.
  t.true(await term.close());
  const again = await TerminalClient.open(socket, container.id);
  await again.run('echo again-$((2+2))', /again-4/);
  await again.close();
  await owner.del(`/api/containers/${container.id}`);
});

test.serial('When a container floods its log to a client that stopped reading, then the server pauses the stream instead of holding it, and the lines come once the client reads again', async (t) => {
  t.timeout(120_000);
  const owner = await newTokenUser(deck, 'flood');
  const reply = await owner.post('/api/containers', { type: 'nginx' });
  t.is(reply.status, 201);
  const container = reply.body.container as { id: number; name: string };
  const socket = await connect(owner.token!);
  let received = 0;
  socket.on('logs:data', (p) => {
    received += p.lines.length;
  });
  const { handle } = await ask<{ handle: string }>(socket, 'logs:subscribe', { id: container.id, tail: 0, follow: true });

  // The client stops reading its connection (a slow phone, or on purpose).
  const wire = (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
  wire.pause();
  const memory = watchMemory();
  // The container writes 200-character lines to its log as fast as it can, for 10 s (about
  // 100-200 MiB here). Ten seconds stay below socket.io's ping timeout: a client that reads
  // nothing for longer is disconnected, which ends its streams too.
  const line = 'x'.repeat(199);
  void docker('exec', container.name, 'sh', '-c', `echo $$ > /tmp/flood.pid; exec yes ${line} > /proc/1/fd/1`).catch(() => undefined);
  const latencies: number[] = [];
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    latencies.push(await healthzMs());
    await new Promise((r) => setTimeout(r, 100));
  }
  const grew = memory.stop();
  latencies.sort((a, b) => a - b);
  t.log(`10 s of log flood while the client did not read: server memory grew ${grew.toFixed(1)} MB; /healthz p50 ${latencies[latencies.length >> 1]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms over ${latencies.length} probes; lines delivered meanwhile ${received}`);
  // Measured here: 6-9 MB with the stream paused; 22-63 MB when the server buffered for the client.
  t.true(grew < 16, `server memory grew ${grew.toFixed(1)} MB`);

  // Reading again: the stream resumes where Docker kept it.
  const before = received;
  wire.resume();
  t.true((await eventually(() => received > before + 1000, 30_000, 50)).ok, `lines flow again (${received - before} after resuming)`);
  t.true(await ask(socket, 'logs:unsubscribe', { handle }));
  await docker('exec', container.name, 'sh', '-c', 'kill $(cat /tmp/flood.pid)');
  await owner.del(`/api/containers/${container.id}`);
});

test.serial('When one account opens more connections than allowed, then the extra one is refused with a sentence and closing one makes room', async (t) => {
  const owner = await newTokenUser(deck, 'many');
  const open: PoolSocket[] = [];
  for (let i = 0; i < 20; i++) open.push(await connect(owner.token!));
  const refused = await t.throwsAsync(connect(owner.token!));
  t.is(refused!.message, 'at most 20 connections at once per account; close a tab or a script first');
  const other = await newTokenUser(deck, 'other');
  t.truthy(await connect(other.token!), 'another account is not affected');
  const closed = new Promise<void>((resolve) => open[0]!.once('disconnect', () => resolve()));
  open[0]!.close();
  await closed;
  t.true((await eventually(async () => {
    try {
      await connect(owner.token!);
      return true;
    } catch {
      return false;
    }
  }, 5000, 100)).ok, 'a closed connection makes room');
});
