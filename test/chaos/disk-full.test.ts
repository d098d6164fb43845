/**
 * Uploads when the disk is full: the data directory is a 2 MB tmpfs, so an upload of a few MB
 * runs out of space while it is being written. The API must answer with a JSON error (507
 * Insufficient Storage is the right one), leave the files already there intact, leave no temp
 * behind, and accept uploads again once they fit. Needs root (mount); skipped otherwise.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fetchText, startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { form, newTokenUser, type Client } from '../integration/client.ts';

let mountpoint: string | null = null;
let deck: TestDeck | null = null;
let owner: Client;
let container: { id: number; name: string; host_port: number };
let mountError = '';
const KEEP = '<h1>kept through a full disk</h1>';

test.before(async () => {
  mountpoint = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', mountpoint], { stdio: 'pipe' });
  } catch (error) {
    mountError = String((error as { stderr?: Buffer }).stderr ?? error).trim();
    rmSync(mountpoint, { recursive: true, force: true });
    mountpoint = null;
    return;
  }
  const env = testEnv({ POOLDECK_POOL: 'nginx=1', POOLDECK_DATA: mountpoint });
  deck = await startTestDeck({}, env);
  owner = await newTokenUser(deck, 'full');
  container = (await owner.post('/api/containers', { type: 'nginx' })).body.container;
});

test.after.always(async () => {
  await deck?.destroy().catch(() => undefined);
  if (mountpoint) {
    execFileSync('umount', [mountpoint]);
    rmSync(mountpoint, { recursive: true, force: true });
  }
});

const slotFile = (name: string) => path.join(mountpoint!, 'slots', container.name, 'www', name);
const freeBytes = () => {
  const s = statfsSync(mountpoint!);
  return s.bavail * s.bsize;
};
const bigUpload = () => owner.post(`/api/containers/${container.id}/files`, form({ 'big.txt': 'x'.repeat(3 * 1024 * 1024) }));

test.serial('When an upload fills the disk, then it gets a JSON error, existing files stay intact, nothing half-written stays, and a later upload that fits works', async (t) => {
  if (!deck) return t.log(`SKIPPED: cannot mount a tmpfs here (${mountError}); run as root`);
  const kept = await owner.post(`/api/containers/${container.id}/files`, form({ 'keep.html': KEEP }));
  t.is(kept.status, 201);
  const free = freeBytes();
  t.true(free < 3 * 1024 * 1024, `the tmpfs has ${free} bytes free, less than the upload`);

  const reply = await bigUpload();
  t.log(`the API answered ${reply.status} ${JSON.stringify(reply.body)}`);
  t.true(reply.status >= 400 && reply.status < 600, String(reply.status));
  t.is(typeof reply.body?.error, 'string', 'a JSON { error } body');
  t.is(readFileSync(slotFile('keep.html'), 'utf8'), KEEP, 'the file already there is intact on disk');
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/keep.html`)).body, KEEP, 'and still served');
  t.false(readdirSync(path.dirname(slotFile('x'))).includes('big.txt'), 'no partial big.txt in the slot');
  t.deepEqual(readdirSync(path.join(mountpoint!, 'tmp', 'uploads')), [], 'the temp was removed');
  t.true(freeBytes() >= free - 64 * 1024, 'the space the failed upload took was given back');

  const after = await owner.post(`/api/containers/${container.id}/files`, form({ 'after.html': '<p>fits</p>' }));
  t.is(after.status, 201, 'an upload that fits works again');
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/after.html`)).body, '<p>fits</p>');
  const health = await fetchText(`${deck.url}/healthz`);
  t.is(health.status, 200, 'the server is healthy');
});

test.serial('When an upload fills the disk, then the answer is 507 Insufficient Storage with a sentence saying so', async (t) => {
  if (!deck) {
    t.fail(`cannot mount a tmpfs here (${mountError}); run as root`);
    return;
  }
  const reply = await bigUpload();
  t.is(reply.status, 507);
  t.regex(String(reply.body?.error), /space|full|storage/i);
});
