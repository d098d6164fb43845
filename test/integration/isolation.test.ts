/**
 * The holder of a container is the attacker (issue 12), replayed from inside real containers:
 * - the terminal user cannot signal (kill -0) or ptrace-read any process outside its own, the
 *   processes that serve the port included, in every type;
 * - a host service listening on 0.0.0.0 does not answer a container at its network's gateway;
 * - a foreign container that holds a slot's name is never removed;
 * - an OOM kill of a child process is not a container death;
 * - the database and its directory are private.
 */
import { statSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../runtime/logger.ts';
import { bridgeName, CHAIN } from '../../runtime/security/host-firewall.ts';
import { docker } from '../support/docker.ts';
import { eventually, fetchText, startTestDeck, type TestDeck } from '../support/server.ts';

const run = promisify(execFile);

/** A logger that keeps every line, so a test can wait for what the runtime said. */
function recordingLogger(lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>): Logger {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
let deck: TestDeck;
const foreign: string[] = [];

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1,apache=1,python=1,node=1,ssh=1' }, undefined, { log: recordingLogger(lines) });
});

test.after.always(async () => {
  for (const name of foreign) await docker('rm', '-f', name).catch(() => undefined);
  await deck?.destroy();
});

const inspect = async (name: string) => JSON.parse(await docker('inspect', name))[0];

async function exec(name: string, user: string, script: string, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    return { code: 0, out: await docker('exec', '-u', user, name, 'sh', '-c', script, 'sh', ...args) };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Pids (in the container) of the processes holding the listening socket of `port`. */
const SERVERS = `
port=$(printf ':%04X' "$1")
inodes=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$port" '$2 ~ p"$" && $4 == "0A" { print $10 }')
for d in /proc/[0-9]*; do
  for i in $inodes; do ls -l "$d/fd" 2>/dev/null | grep -q "socket:\\[$i\\]" && echo "\${d#/proc/}"; done
done | sort -u`;

/**
 * As the terminal user: for every process not its own (another uid), try kill -0 and reading its
 * environment (a ptrace-mode access check). One line per process: pid uid signal environ.
 */
const ATTACK = `
me=$(id -u)
for d in /proc/[0-9]*; do
  p=\${d#/proc/}
  uid=$(awk '/^Uid:/ { print $2 }' "$d/status" 2>/dev/null) || continue
  [ -n "$uid" ] && [ "$uid" != "$me" ] || continue
  if kill -0 "$p" 2>/dev/null; then s=signalled; else s=refused; fi
  if cat "$d/environ" >/dev/null 2>&1; then e=read; else e=refused; fi
  echo "$p $uid $s $e"
done
echo "capeff $(awk '/^CapEff:/ { print $2 }' /proc/self/status)"`;

test('When the terminal user of any type signals or inspects the processes that serve the port, then the kernel refuses every one', async (t) => {
  for (const slot of deck.runtime.slots()) {
    const type = deck.config.types[slot.type];
    const info = await inspect(slot.name);
    const serverUser = slot.type === 'ssh' ? 'root' : info.Config.User;
    t.truthy(serverUser, `${slot.type}: the image names the server's user`);
    t.not(type.terminalUser, serverUser, `${slot.type}: the terminal does not run as the server's user`);

    const servers = (await exec(slot.name, serverUser, SERVERS, String(type.containerPort))).out.split('\n').filter(Boolean);
    t.true(servers.length > 0, `${slot.type}: found the processes listening on ${type.containerPort}`);

    const attack = await exec(slot.name, type.terminalUser, ATTACK);
    const rows = attack.out.split('\n').filter((l) => /^\d+ /.test(l)).map((l) => l.split(' '));
    const checked = new Set(rows.map(([pid]) => pid));
    for (const pid of servers) t.true(checked.has(pid), `${slot.type}: server process ${pid} was attacked`);
    for (const [pid, uid, signal, environ] of rows) {
      t.is(signal, 'refused', `${slot.type}: kill -0 ${pid} (uid ${uid}) as ${type.terminalUser}`);
      t.is(environ, 'refused', `${slot.type}: /proc/${pid}/environ (uid ${uid}) as ${type.terminalUser}`);
    }
    t.regex(attack.out, /capeff 0{16}/, `${slot.type}: the terminal has no capability (no CAP_KILL, no CAP_SYS_PTRACE)`);
  }
});

test('When the terminal user of the node container sends SIGUSR1 to node, then it is refused, and node itself keeps its inspector closed on SIGUSR1', async (t) => {
  const slot = deck.runtime.slots().find((s) => s.type === 'node')!;
  const attack = await exec(slot.name, 'user', 'kill -USR1 1');
  t.not(attack.code, 0);
  t.regex(attack.out, /not permitted/i);
  // Even the server's own uid (or anyone who could signal it) opens no inspector.
  t.is((await exec(slot.name, 'node', 'kill -USR1 1')).code, 0);
  const logs = async () => run('docker', ['logs', slot.name]).then((r) => r.stdout + r.stderr);
  const ignored = await eventually(async () => /SIGUSR1 ignored/.test(await logs()), 5000);
  t.true(ignored.ok, 'serve.js says it ignored the signal');
  const listening = await exec(slot.name, 'node', `cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ ":2405$" && $4 == "0A"'`);
  t.is(listening.out.trim(), '', 'nothing listens on 9229 (the inspector)');
  t.is((await fetchText(`http://127.0.0.1:${slot.hostPort}/`)).status, 200, 'node still serves');
});

test('When a pool container connects to a host service listening on 0.0.0.0 at its gateway, then nothing answers; the pool still serves through its published ports', async (t) => {
  const network = `pooldeck_${deck.config.poolName}`;
  const bridge = bridgeName(deck.config.poolName);
  t.true(bridge.length <= 15 && bridge.startsWith('pd-'));
  const net = JSON.parse(await docker('network', 'inspect', network))[0];
  t.is(net.Options['com.docker.network.bridge.name'], bridge, 'the pool bridge has a predictable name');
  await run('ip', ['link', 'show', bridge]);
  await t.notThrowsAsync(run('iptables', ['-w', '5', '-C', 'INPUT', '-j', CHAIN]), 'the chain is hooked into INPUT');

  const seen: string[] = [];
  const listener = createServer((socket) => {
    seen.push(socket.remoteAddress ?? '?');
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
  const port = (listener.address() as AddressInfo).port;
  try {
    const [slot] = deck.runtime.slots().filter((s) => s.type === 'nginx');
    const gateway = (await inspect(slot.name)).NetworkSettings.Networks[network].Gateway;
    t.truthy(gateway);
    const control = await exec(slot.name, 'user', `bash -c 'exec 3<>/dev/tcp/127.0.0.1/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && head -c 12 <&3'`);
    t.regex(control.out, /^HTTP\/1\.1 200/, 'control: the container reaches its own server');
    const hello = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => resolve(d.toString()));
      socket.once('error', (e) => resolve(String(e)));
    });
    t.regex(hello, /hello from the host/, 'control: the listener answers on the host');
    seen.length = 0;
    const attempt = await exec(slot.name, 'user', `timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1 && head -c 40 <&3' "$1" "$2"`, gateway, String(port));
    t.not(attempt.code, 0, 'the connection does not open');
    t.notRegex(attempt.out, /hello from the host/);
    t.deepEqual(seen, [], 'the host listener saw no connection from the container');
    // Replies to what the host opens still flow: container URLs and health probes.
    t.is((await fetchText(`http://127.0.0.1:${slot.hostPort}/`)).status, 200);
    t.is((await deck.runtime.runHealthCheck()).findings.filter((f) => !f.running).length, 0);
    const verified = await eventually(() => lines.some((l) => l.msg === 'host.firewall.verified'), 15_000);
    t.true(verified.ok, 'the start-up probe found the host unreachable');
    t.false(deck.isolation.status.list().some((w) => w.id === 'host-firewall-missing'));
  } finally {
    listener.close();
  }
});

test('When a container that is not this pool\'s holds the name of a slot the pool grows into, then Pooldeck refuses to create that slot and leaves the container alone', async (t) => {
  const spec = deck.config.types.nginx;
  const name = `pool_nginx_1_${spec.portStart + 1}`;
  foreign.push(name);
  const id = await docker('create', '--name', name, '--label', 'owner=someone-else', spec.image);
  await deck.runtime.resize('nginx', 2);
  const refused = await eventually(() => lines.some((l) => l.msg === 'container.name_taken' && l.fields.name === name), 20_000);
  t.true(refused.ok, 'the create was refused for the name');
  t.is((await inspect(name)).Id, id, 'the foreign container is still there, untouched');
  const slot = await eventually(() => /not this pool's/.test(deck.runtime.slots().find((s) => s.name === name)?.error ?? ''), 20_000);
  t.true(slot.ok, `the slot says why: ${deck.runtime.slots().find((s) => s.name === name)?.error}`);
  await docker('rm', '-f', name);
  foreign.splice(foreign.indexOf(name), 1);
  await deck.runtime.resize('nginx', 1).catch(() => undefined);
});

test('When a child process in a container is killed for memory while PID 1 lives, then the container is not counted as dead nor rebuilt', async (t) => {
  const slot = deck.runtime.slots().find((s) => s.type === 'python')!;
  const before = slot.containerId;
  const oom = await exec(slot.name, 'user', 'head -c 1G /dev/zero | tail > /dev/null');
  t.is(oom.code, 137, `the memory hog was killed: ${oom.out}`);
  const noted = await eventually(() => lines.some((l) => l.msg === 'container.oom.survived' && l.fields.name === slot.name), 10_000);
  t.true(noted.ok, 'the oom event was seen and judged by the container\'s state');
  t.true((await inspect(slot.name)).State.Running, 'PID 1 lives');
  await deck.runtime.runHealthCheck();
  const after = deck.runtime.slots().find((s) => s.name === slot.name)!;
  t.is(after.containerId, before, 'same container: not rebuilt');
  t.is(after.state, 'available');
  t.false(lines.some((l) => l.msg === 'container.created' && l.fields.slot === slot.name && l.fields.reason === 'recover'));
  t.is((await fetchText(`http://127.0.0.1:${slot.hostPort}/`)).status, 200);
});

test('When Pooldeck has started, then its data directory is 0700 and the database (with its WAL) 0600', (t) => {
  const dir = deck.config.dataDir;
  t.is(statSync(dir).mode & 0o777, 0o700);
  for (const file of ['pooldeck.sqlite', 'pooldeck.sqlite-wal']) {
    const full = path.join(dir, file);
    t.is(statSync(full).mode & 0o777, 0o600, file);
  }
});
