/**
 * Issue 12.7 — a crash between writing an ssh assignment and setting its password left
 * credentials that could never be fetched (409 "being set up" for ever). The server repairs
 * such assignments when it starts: the holder gets a password that a real ssh client accepts.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { Client, newTokenUser } from './client.ts';

const run = promisify(execFile);
const env = testEnv({ POOLDECK_POOL: 'ssh=1' });
let deck: TestDeck | null = null;

test.after.always(async () => {
  await deck?.destroy();
});

test('When the server restarts with an ssh assignment whose password was never stored, then it sets one and the holder can fetch it and log in', async (t) => {
  deck = await startTestDeck({}, env);
  const holder = await newTokenUser(deck, 'crash');
  const launched = await holder.post('/api/containers', { type: 'ssh' });
  t.is(launched.status, 201);
  const { id, host_port: port } = launched.body.container as { id: number; host_port: number };
  // What a crash right after the assignment row was written leaves behind.
  await deck.db.run('UPDATE assignments SET ssh_password = NULL, ssh_keys = NULL WHERE id = ?', id);
  await deck.stop(); // containers, data and the pool name stay, as after a crash
  deck = await startTestDeck({}, env);

  const again = new Client(deck.url, holder.name); // the new server listens on another port
  again.token = holder.token;
  const credentials = await again.get(`/api/containers/${id}/credentials`);
  t.is(credentials.status, 200, JSON.stringify(credentials.body));
  t.regex(credentials.body.password, /^[A-Za-z0-9_-]{16}$/);
  const login = await run('sshpass', ['-p', credentials.body.password, 'ssh', '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-o', 'PubkeyAuthentication=no', 'user@127.0.0.1', 'echo repaired'], { timeout: 60_000 });
  t.is(login.stdout.trim(), 'repaired');
});
