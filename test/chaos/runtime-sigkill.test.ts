/**
 * The runtime SIGKILLed in the middle of launches, releases and multipart uploads (over HTTP, to
 * a Pooldeck in a child process), several times. After every restart: one running container per
 * slot and none else, no slot with two live assignments, SQLite and the pool agree, every file in
 * every slot directory is whole (uploads are written to a temp file and renamed), every upload
 * that was acknowledged is there, and no upload temp is left behind.
 */
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { open } from 'sqlite';
import sqlite3 from 'sqlite3';
import { startChildDeck, type ChildDeck } from '../support/child-deck.ts';
import { poolContainers } from '../support/docker.ts';
import { eventually, fetchText, removePool, testEnv } from '../support/server.ts';
import { Client, form, newTokenUser } from '../integration/client.ts';

const CYCLES = Number(process.env.CHAOS_KILLS ?? 3);
const POOL_SIZE = 6;
const MB = 1024 * 1024;

/** Upload content that says how long it must be: a torn file cannot pass for a whole one. */
function content(name: string, size: number): Buffer {
  const header = Buffer.from(`pooldeck-chaos ${name} ${size}\n`);
  const body = Buffer.alloc(size - header.length, name.charCodeAt(name.length - 6));
  return Buffer.concat([header, body]);
}

function whole(file: string): boolean {
  const data = readFileSync(file);
  const match = /^pooldeck-chaos (\S+) (\d+)\n/.exec(data.subarray(0, 200).toString('latin1'));
  return !!match && match[1] === path.basename(file) && Number(match[2]) === data.length && data.equals(content(match[1], data.length));
}

interface Ledger {
  /** Assignment id → files whose upload got a 201 (name → size). */
  acked: Map<number, Map<string, number>>;
  /** Assignments a release was sent for (whatever came back). */
  releasing: Set<number>;
  launches: number;
  uploads: number;
  releases: number;
  errors: number;
  /** Uploads sent and not answered yet. */
  inFlight: number;
}

let fileNo = 0;

async function load(users: Client[], ledger: Ledger, stop: () => boolean) {
  const worker = async (user: Client) => {
    // What the server says this user holds (a launch whose answer was cut by a kill included).
    const listed = await user.get('/api/containers');
    const held: number[] = listed.body.containers.map((c: { id: number }) => c.id);
    let releaseNext = false;
    while (!stop()) {
      try {
        if (held.length >= 2 || releaseNext) {
          releaseNext = false;
          const id = held.shift()!;
          ledger.releasing.add(id);
          await user.del(`/api/containers/${id}`);
          ledger.releases += 1;
          continue;
        }
        const launched = await user.post('/api/containers', { type: 'nginx' });
        if (launched.status !== 201) {
          releaseNext = held.length > 0 && Math.random() < 0.3; // none free: sometimes make room
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const id = launched.body.container.id as number;
        held.push(id);
        ledger.launches += 1;
        for (let u = 0; u < 4 && !stop(); u++) {
          const files: Record<string, Uint8Array<ArrayBuffer>> = {};
          for (let f = 0; f < 1 + Math.floor(Math.random() * 2); f++) {
            const name = `f${process.pid % 1000}-${fileNo++}.txt`;
            files[name] = new Uint8Array(content(name, Math.floor((0.25 + Math.random() * 2.5) * MB)));
          }
          ledger.inFlight += 1;
          const reply = await user.post(`/api/containers/${id}/files`, form(files)).finally(() => (ledger.inFlight -= 1));
          if (reply.status === 201) {
            ledger.uploads += 1;
            const acked = ledger.acked.get(id) ?? new Map<string, number>();
            for (const [name, data] of Object.entries(files)) acked.set(name, data.length);
            ledger.acked.set(id, acked);
          }
        }
      } catch {
        ledger.errors += 1; // the server was killed under us
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(users.map(worker));
}

async function checkConsistent(t: import('ava').ExecutionContext, deck: ChildDeck, env: Record<string, string>, ledger: Ledger, cycle: number) {
  const label = `after restart ${cycle}`;
  const { slots } = await deck.send<{ slots: Array<{ name: string; state: string; phase: string; hostPort: number; containerId: string; assignment: { id: number } | null }> }>({ op: 'slots' });
  t.is(slots.length, POOL_SIZE, label);
  t.true(slots.every((s) => s.state === 'available' || s.state === 'assigned'), `${label}: ${JSON.stringify(slots.map((s) => [s.name, s.state, s.phase]))}`);

  const containers = await poolContainers(env.POOLDECK_POOL_NAME);
  t.deepEqual(containers.map((c) => c.name).sort(), slots.map((s) => s.name).sort(), `${label}: one container per slot, no orphan`);
  t.true(containers.every((c) => c.state === 'running'), `${label}: ${JSON.stringify(containers)}`);
  const byName = new Map(containers.map((c) => [c.name, c.id]));
  t.true(slots.every((s) => byName.get(s.name) === s.containerId), `${label}: every slot owns the container Docker has under its name`);

  const db = await open({ filename: path.join(env.POOLDECK_DATA, 'pooldeck.sqlite'), driver: sqlite3.Database, mode: sqlite3.OPEN_READONLY });
  try {
    const doubles = await db.all(`SELECT slot_name, COUNT(*) AS n FROM assignments WHERE released_at IS NULL AND pool_name = ? GROUP BY slot_name HAVING n > 1`, env.POOLDECK_POOL_NAME);
    t.deepEqual(doubles, [], `${label}: no slot with two live assignments`);
    const active = await db.all<Array<{ id: number; slot_name: string }>>(`SELECT id, slot_name FROM assignments WHERE released_at IS NULL AND pool_name = ?`, env.POOLDECK_POOL_NAME);
    const held = slots.filter((s) => s.assignment).map((s) => `${s.assignment!.id}@${s.name}`).sort();
    t.deepEqual(active.map((a) => `${a.id}@${a.slot_name}`).sort(), held, `${label}: SQLite and the pool agree on who holds what`);
  } finally {
    await db.close();
  }

  const slotsDir = path.join(env.POOLDECK_DATA, 'slots');
  let files = 0;
  for (const slot of readdirSync(slotsDir)) {
    const www = path.join(slotsDir, slot, 'www');
    if (slots.find((s) => s.name === slot)?.assignment === null) {
      t.deepEqual(readdirSync(www), ['index.html'], `${label}: free slot ${slot} holds nothing of a previous holder`);
    }
    for (const name of readdirSync(www)) {
      if (name === 'index.html') continue;
      files += 1;
      t.true(statSync(path.join(www, name)).isFile() && whole(path.join(www, name)), `${label}: ${slot}/${name} is whole`);
    }
  }
  t.deepEqual(readdirSync(path.join(env.POOLDECK_DATA, 'tmp', 'uploads')), [], `${label}: no upload temp left`);

  for (const [id, acked] of ledger.acked) {
    if (ledger.releasing.has(id)) continue;
    const slot = slots.find((s) => s.assignment?.id === id);
    t.truthy(slot, `${label}: assignment ${id} (acknowledged uploads, never released) still held`);
    if (!slot) continue;
    for (const [name, size] of acked) {
      const file = path.join(slotsDir, slot.name, 'www', name);
      t.is(statSync(file, { throwIfNoEntry: false })?.size, size, `${label}: acknowledged ${name} of assignment ${id} kept`);
    }
    const [first] = acked.keys();
    const served = await eventually(async () => (await fetchText(`http://127.0.0.1:${slot.hostPort}/${first}`)).status === 200, 5000);
    t.true(served.ok, `${label}: ${slot.name} serves ${first}`);
  }
  t.log(`${label}: ${slots.filter((s) => s.assignment).length} held, ${files} uploaded files on disk, all whole`);
}

test('When the runtime is SIGKILLed in the middle of launches and uploads, then after each restart there is no orphan, no double assignment and no torn file', async (t) => {
  const env = testEnv({
    POOLDECK_POOL: `nginx=${POOL_SIZE}`,
    POOLDECK_USER_LIMIT: '0',
    POOLDECK_UPLOAD_MAX_FILE_BYTES: String(4 * MB),
    POOLDECK_UPLOAD_MAX_TOTAL_BYTES: String(512 * MB),
    POOLDECK_UPLOAD_MAX_FILES: '1000',
  });
  const ledger: Ledger = { acked: new Map(), releasing: new Set(), launches: 0, uploads: 0, releases: 0, errors: 0, inFlight: 0 };
  let uploadsCut = 0;
  let deck: ChildDeck | null = null;
  try {
    deck = await startChildDeck(env);
    const url = `http://127.0.0.1:${deck.port}`;
    let users: Client[] = [];
    for (let i = 0; i < 4; i++) users.push(await newTokenUser({ url }, 'kill'));
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      let stopped = false;
      const running = load(users, ledger, () => stopped);
      await new Promise((r) => setTimeout(r, 2000 + Math.random() * 3000));
      await eventually(() => ledger.inFlight > 0, 10_000, 5); // land the kill in the middle of an upload
      const cut = ledger.inFlight;
      await deck.kill();
      stopped = true;
      await running;
      t.log(`kill ${cycle}: ${cut} uploads in flight; so far launches=${ledger.launches} uploads=${ledger.uploads} releases=${ledger.releases} interrupted=${ledger.errors}`);
      uploadsCut += cut;

      deck = await startChildDeck(env);
      const restarted = `http://127.0.0.1:${deck.port}`;
      users = users.map((u) => Object.assign(new Client(restarted, u.name), { token: u.token }));
      await checkConsistent(t, deck, env, ledger, cycle);
    }
    t.true(ledger.uploads > 0 && ledger.launches > 0, 'the load did something');
    t.true(ledger.errors > 0, 'some requests were cut by the kill');
    t.true(uploadsCut > 0, 'some uploads were cut by the kill');
  } finally {
    await deck?.kill();
    await removePool(env.POOLDECK_POOL_NAME);
  }
});
