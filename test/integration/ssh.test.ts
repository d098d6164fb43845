/**
 * The ssh type with real OpenSSH clients (Debian openssh-client, sshpass) against real
 * containers: the password and saved keys of one assignment let its holder in, only the holder
 * can read the password, and nothing of one holder (password, keys, files, host key) is left
 * for the next one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { TerminalClient, openSocket, type PoolSocket } from '../support/sockets.ts';
import { Client, adminClient, newTokenUser } from './client.ts';

const run = promisify(execFile);
let deck: TestDeck;
let keyDir: string;
const sockets: PoolSocket[] = [];

test.before(async () => {
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-ssh-test-'));
  deck = await startTestDeck({ POOLDECK_POOL: 'ssh=2' });
});

test.after.always(async () => {
  for (const s of sockets) s.close();
  await deck?.destroy();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMON = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10'];

async function attempt(file: string, args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `sshpass -p <password> ssh -p <port> … user@127.0.0.1 <command>` (password only). */
const withPassword = (port: number, password: string, command = 'echo ok') =>
  attempt('sshpass', ['-p', password, 'ssh', '-p', String(port), ...COMMON, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', `user@127.0.0.1`, command]);

/** `ssh -i <key> -p <port> … user@127.0.0.1 <command>` (that key only, no prompts). */
const withKey = (port: number, key: string, command = 'echo ok') =>
  attempt('ssh', ['-i', key, '-p', String(port), ...COMMON, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'PreferredAuthentications=publickey', `user@127.0.0.1`, command]);

/** A fresh ed25519 key pair made by ssh-keygen; returns the private key's path. */
async function newKey(name: string): Promise<string> {
  const file = path.join(keyDir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@pooldeck-test`, '-f', file]);
  return file;
}

/** The SHA256 fingerprint of the ed25519 host key a port presents (ssh-keyscan + ssh-keygen -l). */
async function hostKey(port: number): Promise<string> {
  const { stdout } = await run('ssh-keyscan', ['-T', '10', '-t', 'ed25519', '-p', String(port), '127.0.0.1'], { timeout: 30_000 });
  const line = stdout.split('\n').find((l) => l.includes('ssh-ed25519'));
  if (!line) throw new Error(`no ed25519 host key on port ${port}: ${stdout}`);
  const keygen = execFile('ssh-keygen', ['-l', '-f', '-']);
  keygen.stdin!.end(line + '\n');
  let out = '';
  keygen.stdout!.on('data', (d) => (out += d));
  await new Promise((resolve) => keygen.on('close', resolve));
  const fingerprint = /SHA256:\S+/.exec(out)?.[0];
  if (!fingerprint) throw new Error(`ssh-keygen could not read ${line}`);
  return fingerprint;
}

async function launchSsh(client: Client) {
  const reply = await client.post('/api/containers', { type: 'ssh' });
  if (reply.status !== 201) throw new Error(`launch ssh: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.container as { id: number; name: string; host_port: number; ssh: string };
}

async function credentials(client: Client, id: number) {
  const reply = await client.get(`/api/containers/${id}/credentials`);
  if (reply.status !== 200) throw new Error(`credentials: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { username: string; password: string; keys: number; ssh: string };
}

test.serial('When a user with a saved ed25519 key gets an ssh container, then the real ssh client logs in with the password and with the key, and only that user can read the password', async (t) => {
  const alice = await newTokenUser(deck, 'alice');
  const bob = await newTokenUser(deck, 'bob');
  const admin = await adminClient(deck);
  const key = await newKey('alice');

  t.is((await alice.post('/api/me/keys', { key: 'ssh-ed25519 not-a-key' })).status, 400, 'garbage is refused');
  t.is((await alice.post('/api/me/keys', { key: `${readFileSync(key, 'utf8').split('\n')[1] ?? 'x'}` })).status, 400, 'a line of the private key is refused');
  const saved = await alice.post('/api/me/keys', { key: readFileSync(`${key}.pub`, 'utf8') });
  t.is(saved.status, 201, JSON.stringify(saved.body));

  const container = await launchSsh(alice);
  t.is(container.ssh, `ssh -p ${container.host_port} user@127.0.0.1`, 'the exact command the dashboard shows');
  const creds = await credentials(alice, container.id);
  t.like(creds, { username: 'user', keys: 1, ssh: container.ssh });
  t.regex(creds.password, /^[A-Za-z0-9_-]{16}$/);
  t.is((await bob.get(`/api/containers/${container.id}/credentials`)).status, 404, 'another user cannot read it');
  t.is((await admin.get(`/api/containers/${container.id}/credentials`)).status, 404, 'nor can an admin: the password is the holder\'s');
  t.is((await new Client(deck.url).get(`/api/containers/${container.id}/credentials`)).status, 401);

  const byPassword = await withPassword(container.host_port, creds.password);
  t.is(byPassword.code, 0, byPassword.stderr);
  t.is(byPassword.stdout, 'ok\n');
  const byKey = await withKey(container.host_port, key, 'echo ok; id -un; cat ~/.ssh/authorized_keys');
  t.is(byKey.code, 0, byKey.stderr);
  const [ok, who, authorized] = byKey.stdout.split('\n');
  t.is(ok, 'ok');
  t.is(who, 'user');
  t.is(authorized, readFileSync(`${key}.pub`, 'utf8').trim(), 'exactly the saved key');

  const wrong = await withPassword(container.host_port, `${creds.password}x`);
  t.not(wrong.code, 0);
  t.is(wrong.stdout, '');
  const otherKey = await newKey('stranger');
  const stranger = await withKey(container.host_port, otherKey);
  t.not(stranger.code, 0);
  t.regex(stranger.stderr, /Permission denied/);

  t.is((await alice.del(`/api/containers/${container.id}`)).status, 200);
});

test.serial('When an ssh container is released and the next user gets the same slot, then the old password and key are refused, the host key is new and nothing of the first user is left', async (t) => {
  const carol = await newTokenUser(deck, 'carol');
  const dave = await newTokenUser(deck, 'dave');
  const erin = await newTokenUser(deck, 'erin');
  const key = await newKey('carol');
  t.is((await carol.post('/api/me/keys', { key: readFileSync(`${key}.pub`, 'utf8') })).status, 201);

  // Wait for both slots to be free (the previous test released one).
  const free = await eventually(() => deck.runtime.slots().filter((s) => s.type === 'ssh' && s.state === 'available').length === 2, 60_000, 100);
  t.true(free.ok, 'both ssh slots are free');

  const first = await launchSsh(carol);
  const firstCreds = await credentials(carol, first.id);
  const marked = await withKey(first.host_port, key, 'echo secret > ~/left-by-carol && echo ok');
  t.is(marked.stdout, 'ok\n', marked.stderr);
  const second = await launchSsh(dave);
  t.not(second.host_port, first.host_port);

  const firstHostKey = await hostKey(first.host_port);
  const secondHostKey = await hostKey(second.host_port);
  t.not(firstHostKey, secondHostKey, 'two ssh containers have different host keys');

  t.is((await carol.del(`/api/containers/${first.id}`)).status, 200);
  const back = await eventually(() => deck.runtime.slots().some((s) => s.name === first.name && s.state === 'available' && s.phase === 'ready'), 60_000, 100);
  t.true(back.ok, 'the slot is back in the pool');
  const third = await launchSsh(erin);
  t.is(third.name, first.name, 'the next user gets the same slot (the only free one)');
  t.is(third.host_port, first.host_port);
  const thirdCreds = await credentials(erin, third.id);
  t.is(thirdCreds.keys, 0);
  t.not(thirdCreds.password, firstCreds.password);

  const newHostKey = await hostKey(third.host_port);
  t.not(newHostKey, firstHostKey, 'a fresh container has a fresh host key');
  t.log(`host keys: ${firstHostKey} → ${newHostKey}; other slot ${secondHostKey}`);

  const oldPassword = await withPassword(third.host_port, firstCreds.password);
  t.not(oldPassword.code, 0, 'the old password is refused');
  t.is(oldPassword.stdout, '');
  const oldKey = await withKey(third.host_port, key);
  t.not(oldKey.code, 0, 'the old key is refused');
  t.regex(oldKey.stderr, /Permission denied/);

  const fresh = await withPassword(third.host_port, thirdCreds.password, 'echo ok; ls -A ~; wc -c < ~/.ssh/authorized_keys');
  t.is(fresh.code, 0, fresh.stderr);
  t.false(fresh.stdout.includes('left-by-carol'), `the home directory is new: ${fresh.stdout}`);
  t.regex(fresh.stdout, /^ok\n[\s\S]*\n0\n$/, 'no authorized keys');

  // The web terminal of an ssh container runs as the pool user in their home.
  const socket = await openSocket(deck.url, { token: erin.token! });
  sockets.push(socket);
  const term = await TerminalClient.open(socket, third.id);
  t.is(term.user, 'user');
  t.regex(await term.run('id -un; pwd', /\/home\/user\r\n/), /user\r\n\/home\/user\r\n/);
  await term.close();

  await dave.del(`/api/containers/${second.id}`);
  await erin.del(`/api/containers/${third.id}`);
});

test.serial('When an assigned ssh container dies and is rebuilt, then the same password and key of the assignment still log in', async (t) => {
  const frank = await newTokenUser(deck, 'frank');
  const key = await newKey('frank');
  t.is((await frank.post('/api/me/keys', { key: readFileSync(`${key}.pub`, 'utf8') })).status, 201);
  const free = await eventually(() => deck.runtime.slots().some((s) => s.type === 'ssh' && s.state === 'available'), 60_000, 100);
  t.true(free.ok);
  const container = await launchSsh(frank);
  const creds = await credentials(frank, container.id);
  const before = deck.runtime.slotOfAssignment(container.id)!.containerId;

  await run('docker', ['kill', container.name]);
  const rebuilt = await eventually(() => {
    const slot = deck.runtime.slotOfAssignment(container.id);
    return slot?.state === 'assigned' && slot.phase === 'serving' && slot.containerId !== before;
  }, 60_000, 100);
  t.true(rebuilt.ok, 'rebuilt in place');
  t.is((await credentials(frank, container.id)).password, creds.password, 'the assignment keeps its password');
  t.is((await withPassword(container.host_port, creds.password)).stdout, 'ok\n');
  t.is((await withKey(container.host_port, key)).stdout, 'ok\n');
  await frank.del(`/api/containers/${container.id}`);
});
