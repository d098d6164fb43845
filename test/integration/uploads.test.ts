/**
 * Uploads: the bad-input table (traversal names, extensions, sizes, counts, malformed bodies),
 * and proof that a refused upload writes nothing anywhere — inside or outside the slot's directory.
 */
import test from 'ava';
import { readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { eventually, fetchText, startTestDeck, type TestDeck } from '../support/server.ts';
import { form, newTokenUser, rawMultipart, type Client } from './client.ts';

let deck: TestDeck;
let owner: Client;
let container: { id: number; name: string; host_port: number };

const LIMITS = { POOLDECK_UPLOAD_MAX_FILE_BYTES: '2048', POOLDECK_UPLOAD_MAX_FILES: '4', POOLDECK_UPLOAD_MAX_TOTAL_BYTES: '5000' };

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1', ...LIMITS });
  owner = await newTokenUser(deck, 'up');
  container = (await owner.post('/api/containers', { type: 'nginx' })).body.container;
});

test.after.always(async () => {
  await deck?.destroy();
});

/** Every file under the data dir (but the database) with its size: what an upload could have touched. */
function snapshot(): string[] {
  const root = deck.env.POOLDECK_DATA;
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        out.push(`${path.relative(root, full)}/`);
        walk(full);
      } else if (!entry.name.startsWith('pooldeck.sqlite')) out.push(`${path.relative(root, full)} ${statSync(full).size}`);
    }
  };
  walk(root);
  return out.sort();
}

const files = async () => (await owner.get(`/api/containers/${container.id}/files`)).body.files.map((f: { name: string; size: number }) => `${f.name}:${f.size}`).sort();
const raw = (parts: Array<{ disposition: string; content: string | Buffer }>) => {
  const { body, contentType } = rawMultipart(parts);
  return owner.call('POST', `/api/containers/${container.id}/files`, body, { 'content-type': contentType });
};

// Serial: each case compares the data dir before and after, so nothing else may write meanwhile.
test.serial('When an upload is refused for any reason, then it gets the right 4xx and nothing is written anywhere', async (t) => {
  const before = snapshot();
  const listed = await files();
  const cases: Array<[string, () => Promise<{ status: number; body: any }>, number, RegExp]> = [
    ['../x.html', () => raw([{ disposition: 'filename="../x.html"', content: 'x' }]), 400, /would leave the container's directory/],
    ['/etc/passwd', () => raw([{ disposition: 'filename="/etc/passwd"', content: 'root:x:0:0' }]), 400, /would leave/],
    ['a\\0b.html', () => raw([{ disposition: "filename*=UTF-8''a%00b.html", content: 'x' }]), 400, /would leave/],
    ['..\\x.html', () => raw([{ disposition: 'filename="..\\\\x.html"', content: 'x' }]), 400, /would leave/],
    ['sub/dir.html', () => raw([{ disposition: 'filename="sub/dir.html"', content: 'x' }]), 400, /would leave/],
    ['..', () => raw([{ disposition: 'filename=".."', content: 'x' }]), 400, /would leave/],
    ['.htaccess', () => raw([{ disposition: 'filename=".htaccess"', content: 'x' }]), 400, /not starting with "."/],
    ['a space.html', () => raw([{ disposition: 'filename="a space.html"', content: 'x' }]), 400, /is not allowed/],
    ['long name', () => raw([{ disposition: `filename="${'a'.repeat(130)}.html"`, content: 'x' }]), 400, /is not allowed/],
    ['disallowed extension', () => owner.post(`/api/containers/${container.id}/files`, form({ 'run.exe': 'MZ' })), 400, /"\.exe" cannot be uploaded to a nginx container/],
    ['no extension', () => owner.post(`/api/containers/${container.id}/files`, form({ Makefile: 'all:' })), 400, /no extension/],
    ['a good file next to a bad name', () => raw([{ disposition: 'filename="good.html"', content: 'good' }, { disposition: 'filename="../bad.html"', content: 'bad' }]), 400, /would leave/],
    ['a good file next to an oversize one', () => owner.post(`/api/containers/${container.id}/files`, form({ 'ok.html': 'ok', 'big.html': 'x'.repeat(2049) })), 413, /"big.html" is larger than the 2048-byte limit per file/],
    ['a 3 MB upload', () => owner.post(`/api/containers/${container.id}/files`, form({ 'huge.html': 'x'.repeat(3_000_000) })), 413, /larger than the 5000-byte limit/],
    ['too many files', () => owner.post(`/api/containers/${container.id}/files`, form({ 'a.html': 'a', 'b.html': 'b', 'c.html': 'c', 'd.html': 'd', 'e.html': 'e' })), 413, /too many files in one upload; the limit is 4/],
    ['the same name twice', () => raw([{ disposition: 'filename="twice.html"', content: '1' }, { disposition: 'filename="twice.html"', content: '2' }]), 400, /twice/],
    ['no files at all', () => owner.post(`/api/containers/${container.id}/files`, (() => { const f = new FormData(); f.append('note', 'hi'); return f; })()), 400, /holds no files/],
    ['a JSON body', () => owner.post(`/api/containers/${container.id}/files`, { 'index.html': '<h1>' }), 415, /multipart\/form-data/],
    ['a broken multipart body', () => owner.call('POST', `/api/containers/${container.id}/files`, '--x\r\nnonsense', { 'content-type': 'multipart/form-data; boundary=x' }), 400, /malformed multipart|holds no files/],
    ['no boundary', () => owner.call('POST', `/api/containers/${container.id}/files`, 'abc', { 'content-type': 'multipart/form-data' }), 400, /malformed multipart/],
  ];
  for (const [what, send, status, message] of cases) {
    const reply = await send();
    t.is(reply.status, status, what);
    t.regex(String(reply.body?.error), message, what);
    t.deepEqual(snapshot(), before, `${what}: nothing written`);
  }
  t.deepEqual(await files(), listed);
  t.deepEqual(readdirSync(path.join(deck.env.POOLDECK_DATA, 'tmp', 'uploads')), [], 'no temp files left');
  for (const name of ['x.html', 'passwd', 'bad.html', 'good.html', 'ok.html', 'twice.html']) {
    t.false(before.some((line) => path.basename(line.split(' ')[0]) === name), `${name} exists nowhere`);
  }
});

test.serial('When uploads would push the directory over its total size or file count, then they are refused whole', async (t) => {
  const ok = await owner.post(`/api/containers/${container.id}/files`, form({ 'a.html': 'a'.repeat(2000), 'B.HTML': 'b'.repeat(2000) }));
  t.is(ok.status, 201, 'upper-case extensions are fine');
  const before = snapshot();
  const tooBig = await owner.post(`/api/containers/${container.id}/files`, form({ 'c.html': 'c'.repeat(2000) }));
  t.is(tooBig.status, 413);
  t.regex(tooBig.body.error, /would total \d+ bytes; the limit is 5000/);
  t.deepEqual(snapshot(), before);
  const replace = await owner.post(`/api/containers/${container.id}/files`, form({ 'a.html': 'A'.repeat(1000) }));
  t.is(replace.status, 201, 'replacing a file counts its new size only');
  const tooMany = await owner.post(`/api/containers/${container.id}/files`, form({ 'd.css': 'd', 'e.css': 'e' }));
  t.is(tooMany.status, 413);
  t.regex(tooMany.body.error, /would hold 5 files; the limit is 4/);
  t.deepEqual((await files()).filter((f: string) => !f.startsWith('index.html')), ['B.HTML:2000', 'a.html:1000']);
});

test.serial('When files are written, then they are 0644 in the slot directory and served at once; deleting one checks its name', async (t) => {
  const dir = deck.runtime.deps.files.dir(container.name);
  const reply = await owner.post(`/api/containers/${container.id}/files`, form({ 'page.html': '<p>page</p>' }));
  t.is(reply.status, 201);
  t.is(statSync(path.join(dir, 'page.html')).mode & 0o777, 0o644);
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/page.html`)).body, '<p>page</p>');

  const del = (name: string) =>
    new Promise<number>((resolve, reject) => {
      // node:http sends the path exactly as written (fetch would normalise "..").
      const req = request(`${deck.url}/api/containers/${container.id}/files/${name}`, { method: 'DELETE', headers: { authorization: `Bearer ${owner.token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
  t.is(await del('..%2Fpooldeck.sqlite'), 400);
  t.is(await del('%2e%2e%2F%2e%2e%2Fpooldeck.sqlite'), 400);
  t.is(await del('a%00b.html'), 400);
  t.is(await del('..%5Cx'), 400);
  t.is(await del('nothing.html'), 404);
  t.is(await del('page.html'), 200);
  t.is((await fetchText(`http://127.0.0.1:${container.host_port}/page.html`)).status, 404);
  t.true(statSync(path.join(deck.env.POOLDECK_DATA, 'pooldeck.sqlite')).isFile());
});

test.serial('When the client goes away in the middle of an upload, then its temp files are removed and nothing is written', async (t) => {
  const before = (await files()).join();
  const temps = () => readdirSync(path.join(deck.env.POOLDECK_DATA, 'tmp', 'uploads'));
  const req = request(`${deck.url}/api/containers/${container.id}/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'multipart/form-data; boundary=XYZ', 'content-length': '20000' },
  });
  req.on('error', () => undefined);
  req.write(`--XYZ\r\nContent-Disposition: form-data; name="f"; filename="partial.html"\r\n\r\n${'x'.repeat(1000)}`);
  t.true((await eventually(() => temps().length === 1, 5000)).ok, 'the upload is being received');
  req.destroy();
  t.true((await eventually(() => temps().length === 0, 5000)).ok, 'temps removed');
  t.is((await files()).join(), before);
});

test.serial('When a file is exactly POOLDECK_UPLOAD_MAX_FILE_BYTES long, then it is accepted; one byte more is refused', async (t) => {
  await owner.del(`/api/containers/${container.id}/files/B.HTML`); // room for 2048 more bytes
  const exact = await owner.post(`/api/containers/${container.id}/files`, form({ 'exact.css': 'e'.repeat(2048) }));
  t.is(exact.status, 201, JSON.stringify(exact.body));
  t.deepEqual(exact.body.files, [{ name: 'exact.css', size: 2048 }]);
  const over = await owner.post(`/api/containers/${container.id}/files`, form({ 'over.css': 'o'.repeat(2049) }));
  t.is(over.status, 413);
  t.regex(over.body.error, /"over.css" is larger than the 2048-byte limit per file/);
  t.is((await owner.del(`/api/containers/${container.id}/files/exact.css`)).status, 200);
});
