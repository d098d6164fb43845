/**
 * Issue 12.5 and 12.7 — disk and malformed input: bytes in flight count against the container's
 * and the user's limits, stalled bodies end, a free-space reserve is kept for SQLite, database
 * error texts never reach an answer; malformed paths and prototype names are 400s.
 * Real server, real nginx containers, raw HTTP uploads that send their bodies in steps.
 */
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { emitAck, openSocket } from '../support/sockets.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, newTokenUser } from './client.ts';
import { fillUntilFull } from '../support/sqlite-full.ts';

const MiB = 1024 * 1024;
let deck: TestDeck;
let owner: Client;
let containers: Array<{ id: number; name: string }>;

test.before(async () => {
  deck = await startTestDeck({
    POOLDECK_POOL: 'nginx=4',
    POOLDECK_UPLOAD_MAX_TOTAL_BYTES: String(5 * MiB),
    POOLDECK_UPLOAD_MAX_FILE_BYTES: String(5 * MiB),
    POOLDECK_UPLOAD_IDLE_TIMEOUT: '1',
    POOLDECK_DISK_RESERVE_MB: '1',
  });
  owner = await newTokenUser(deck, 'disk');
  containers = [];
  for (let i = 0; i < 2; i++) containers.push((await owner.post('/api/containers', { type: 'nginx' })).body.container);
});
test.after.always(async () => {
  await deck?.destroy();
});

const tempDir = () => path.join(deck.env.POOLDECK_DATA, 'tmp', 'uploads');
/** Bytes of all temp files of uploads being received now. */
function tempBytes(): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      try {
        if (entry.isDirectory()) walk(full);
        else total += statSync(full).size;
      } catch {
        /* removed meanwhile */
      }
    }
  };
  walk(tempDir());
  return total;
}

/** A multipart upload of one file of `size` bytes whose body we send in steps. */
function slowUpload(id: number, name: string, size: number) {
  const head = Buffer.from(`--B\r\nContent-Disposition: form-data; name="f"; filename="${name}"\r\nContent-Type: text/html\r\n\r\n`);
  const tail = Buffer.from('\r\n--B--\r\n');
  const req = request(`${deck.url}/api/containers/${id}/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'multipart/form-data; boundary=B', 'content-length': String(head.length + size + tail.length) },
  });
  let sent = 0;
  const answer = new Promise<{ status: number; body: any }>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
      res.on('error', () => resolve({ status: res.statusCode!, body: null }));
    });
    req.on('error', () => resolve({ status: 0, body: null }));
  });
  req.write(head);
  return {
    answer,
    /** Send `bytes` more of the file (at most what is left); resolves when written to the socket. */
    send(bytes: number): Promise<void> {
      const n = Math.min(bytes, size - sent);
      sent += n;
      return new Promise((resolve) => req.write(Buffer.alloc(n, 0x61), () => resolve()));
    },
    finish(): Promise<void> {
      return new Promise((resolve) => req.end(Buffer.concat([Buffer.alloc(size - sent, 0x61), tail]), () => resolve()));
    },
    abort: () => req.destroy(),
  };
}

test.serial('When 8 uploads of 4.5 MiB go to one 5 MiB container at once, then the temp space they hold stays within the container\'s limit and at most one succeeds', async (t) => {
  const [box] = containers;
  const uploads = Array.from({ length: 8 }, (_, i) => slowUpload(box!.id, `big${i}.html`, 4.5 * MiB));
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, tempBytes());
      await new Promise((r) => setImmediate(r));
    }
  })();
  // Every upload sends 1 MiB, then all of them the rest: they are all in flight together.
  await Promise.all(uploads.map((u) => u.send(MiB)));
  await eventually(() => tempBytes() >= 4 * MiB || false, 5000);
  await Promise.all(uploads.map((u) => u.finish()));
  const answers = await Promise.all(uploads.map((u) => u.answer));
  sampling = false;
  await sampler;
  const statuses = answers.map((a) => a.status);
  t.log(`statuses ${statuses.join(' ')}; peak temp space ${(peak / MiB).toFixed(2)} MiB`);
  t.true(statuses.filter((s) => s === 201).length <= 1, 'at most one fits');
  t.true(statuses.filter((s) => s === 413).length >= 7);
  t.true(answers.some((a) => /uploads in progress to this container/.test(a.body?.error ?? '')), 'the refusal says why');
  t.true(peak <= 5.5 * MiB, `peak temp space ${peak} bytes`);
  t.true((await eventually(() => tempBytes() === 0, 5000)).ok, 'temps removed');
  for (const a of answers) if (a.status === 201) await owner.del(`/api/containers/${box!.id}/files/${a.body.files[0].name}`);
});

test.serial('When one user uploads to two containers at once more than one container\'s limit, then the second is refused while the first goes through', async (t) => {
  const [a, b] = containers;
  const first = slowUpload(a!.id, 'one.html', 3 * MiB);
  const second = slowUpload(b!.id, 'two.html', 3 * MiB);
  await first.send(2.5 * MiB);
  await eventually(() => tempBytes() >= 2.5 * MiB, 5000);
  await second.finish();
  const refused = await second.answer;
  t.is(refused.status, 413);
  t.regex(refused.body.error, /your uploads in progress together exceed/);
  await first.finish();
  t.is((await first.answer).status, 201);
  await owner.del(`/api/containers/${a!.id}/files/one.html`);
});

test.serial('When an upload\'s body stops arriving, then it is ended with 408 after the idle timeout and its temp files are removed', async (t) => {
  const upload = slowUpload(containers[0]!.id, 'stalled.html', 2 * MiB);
  await upload.send(64 * 1024);
  const started = Date.now();
  const answer = await Promise.race([upload.answer, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
  t.truthy(answer, 'answered within 20 s');
  t.is(answer!.status, 408);
  t.regex(answer!.body.error, /sent nothing for 1 s/);
  t.log(`ended after ${Date.now() - started} ms`);
  t.true((await eventually(() => tempBytes() === 0 && readdirSync(tempDir()).length === 0, 5000)).ok, 'temps removed');
  upload.abort();
});

test.serial('When the data disk has less free space than the reserve, then uploads are refused with 507 and nothing is written', async (t) => {
  deck.config.upload.diskReserveBytes = 2 ** 60; // more than any disk has
  try {
    const form = new FormData();
    form.append('f', new Blob(['<p>hi</p>']), 'reserve.html');
    const reply = await owner.post(`/api/containers/${containers[0]!.id}/files`, form);
    t.is(reply.status, 507);
    t.regex(reply.body.error, /low on disk space/);
  } finally {
    deck.config.upload.diskReserveBytes = MiB;
  }
  const files = (await owner.get(`/api/containers/${containers[0]!.id}/files`)).body.files.map((f: { name: string }) => f.name);
  t.false(files.includes('reserve.html'));
});

test('When a path parameter is not validly percent-encoded, then the answer is 400, not 500', async (t) => {
  for (const route of ['/api/containers/%E0%A4%A', '/api/containers/%E0%A4%A/files', '/api/tokens/%ZZ']) {
    const reply = await owner.call(route.startsWith('/api/tokens') ? 'DELETE' : 'GET', route);
    t.is(reply.status, 400, route);
    t.regex(String(reply.body.error), /percent-encoded/, route);
  }
});

test('When a launch names a property of Object as its type, then it is an unknown type (400), over HTTP and over socket.io', async (t) => {
  for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const reply = await owner.post('/api/containers', { type });
    t.is(reply.status, 400, type);
    t.regex(reply.body.error, /unknown container type/, type);
  }
  const socket = await openSocket(deck.url, { token: owner.token! });
  try {
    for (const type of ['constructor', 'toString']) {
      const answer = await emitAck(socket, 'container:launch', { type });
      t.true('error' in answer && /unknown container type|must be the name of a container type/.test(answer.error), `${type}: ${JSON.stringify(answer)}`);
    }
  } finally {
    socket.disconnect();
  }
});

test.serial('When the database is full, then launch, register, login and release answer without any database error text, and a release keeps the container', async (t) => {
  const other = await newTokenUser(deck, 'dbfull');
  const held = await other.post('/api/containers', { type: 'nginx' });
  t.is(held.status, 201);
  const { max_page_count: before } = (await deck.db.get<{ max_page_count: number }>('PRAGMA max_page_count'))!;
  const { page_count: pages } = (await deck.db.get<{ page_count: number }>('PRAGMA page_count'))!;
  await deck.db.exec(`PRAGMA max_page_count = ${pages + 4}`);
  try {
    // Fill every table an answer writes to until SQLite says SQLITE_FULL.
    const fill = (insert: (i: number) => Promise<unknown>) => fillUntilFull(t, insert);
    const stamp = Date.now();
    await fill((i) => deck.db.run(`INSERT INTO users (username, email, password_hash) VALUES (?, ?, 'x')`, `filler${i}x${stamp}`, `f${i}x${stamp}@example.test`));
    await fill((i) => deck.db.run(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (1, ?, '2999-01-01')`, `filler-${i}-${stamp}`));
    await fill((i) => deck.db.run(`INSERT INTO assignments (user_id, pool_name, slot_name, type, host_port, created_at) VALUES (1, 'filler', ?, 'nginx', 1, 'x')`, `filler${i}`));
    const replies = {
      launch: await other.post('/api/containers', { type: 'nginx' }),
      register: await new Client(deck.url).post('/api/auth/register', { username: `full${stamp % 100000}`, email: `full${stamp}@example.test`, password: 'long enough pw' }),
      login: await new Client(deck.url).post('/api/auth/login', { username: 'admin', password: deck.env.POOLDECK_ADMIN_PASSWORD }),
      release: await other.del(`/api/containers/${held.body.container.id}`),
    };
    for (const [what, reply] of Object.entries(replies)) {
      t.true(reply.status >= 500, `${what}: status ${reply.status}`);
      t.notRegex(JSON.stringify(reply.body), /SQLITE|database|disk is full/i, what);
    }
    t.is(replies.release.status, 503);
    t.regex(replies.release.body.error, /^could not release pool_nginx_\d+_\d+ right now; it is still yours, try again in a moment$/);
    t.is((await other.get(`/api/containers/${held.body.container.id}`)).status, 200, 'the container is still the holder\'s');
    t.is(replies.register.status, 507);
    t.regex(replies.register.body.error, /out of storage space; try again later/);
  } finally {
    await deck.db.exec(`PRAGMA max_page_count = ${before}`);
    await deck.db.run(`DELETE FROM assignments WHERE pool_name = 'filler'`);
    await deck.db.run(`DELETE FROM users WHERE username LIKE 'filler%'`);
    await deck.db.run(`DELETE FROM sessions WHERE token_hash LIKE 'filler-%'`);
  }
  t.is((await other.del(`/api/containers/${held.body.container.id}`)).status, 200, 'afterwards the release goes through');
  t.is((await other.post('/api/containers', { type: 'nginx' })).status, 201, 'afterwards the pool hands out again');
});
