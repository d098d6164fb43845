/**
 * The production path: the server and the CLI compiled by `npm run build:server`
 * (ops/scripts/build-server.mjs), run with plain `node` and no TypeScript loader, as `npm start`,
 * `make run`, the systemd unit and bin/pooldeck.js run them. Built into a folder of its own, so a
 * build/ someone made is left alone.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { buildServer } from '../../ops/scripts/build-server.mjs';
import { eventually, fetchText, removePool, testEnv } from '../support/server.ts';
import { Client, newTokenUser } from './client.ts';

const root = path.resolve(import.meta.dirname, '../..');
const outdir = path.join(root, 'build', `.test-${process.pid}`);
const env = testEnv({ POOLDECK_POOL: 'nginx=1', POOLDECK_LOG_LEVEL: 'info' });
let server: ChildProcess | null = null;
let url = '';
let log = '';

test.before(async () => {
  await buildServer({ outdir });
  server = spawn(process.execPath, ['--max-semi-space-size=2', path.join(outdir, 'server.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr!.on('data', (d) => (log += d));
  const port = await new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: server!.stdout! }).on('line', (line) => {
      log += line + '\n';
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'http.listening' && entry.port) resolve(entry.port);
    });
    server!.once('exit', (code) => reject(new Error(`the compiled server exited ${code}:\n${log.slice(-3000)}`)));
  });
  url = `http://127.0.0.1:${port}`;
  const ready = await eventually(async () => (await fetchText(`${url}/healthz`)).status === 200, 120_000, 100);
  if (!ready.ok) throw new Error(`the compiled server's pool did not come up:\n${log.slice(-3000)}`);
});

test.after.always(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await removePool(env.POOLDECK_POOL_NAME);
  rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
});

test.serial('When the compiled server runs under plain node, then it loads no TypeScript and hands out a container that serves its page', async (t) => {
  const cmdline = readFileSync(`/proc/${server!.pid}/cmdline`, 'utf8').split('\0');
  t.false(cmdline.some((arg) => /tsx|--import|--loader/.test(arg)), cmdline.join(' '));
  const maps = readFileSync(`/proc/${server!.pid}/maps`, 'utf8');
  t.false(maps.includes('node_modules/esbuild'), 'no esbuild (tsx) binary is mapped');

  const user = await newTokenUser({ url }, 'compiled');
  const launch = await user.post('/api/containers', { type: 'nginx' });
  t.is(launch.status, 201, JSON.stringify(launch.body));
  const port = launch.body.container.host_port as number;
  const page = await eventually(async () => (await fetchText(`http://127.0.0.1:${port}/`)).status === 200, 10_000, 50);
  t.true(page.ok, 'the launched container answers 200');
  const release = await user.del(`/api/containers/${launch.body.container.id}`);
  t.is(release.status, 200, JSON.stringify(release.body));

  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server!.pid}/status`, 'utf8'))?.[1]) / 1024;
  t.log(`compiled server RSS with a 1-slot pool: ${rss.toFixed(1)} MB`);
});

test.serial('When the compiled CLI runs under plain node, then it prints its help and talks to the server', async (t) => {
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(outdir, 'cli.js'), ...args], { env: { PATH: process.env.PATH ?? '', POOLDECK_URL: url, ...extra } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const help = await cli(['--help']);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^Usage: pooldeck <command>/);

  const admin = new Client(url, 'admin');
  t.is((await admin.post('/api/auth/login', { username: 'admin', password: env.POOLDECK_ADMIN_PASSWORD })).status, 200);
  const token = (await admin.post('/api/tokens', { name: 'compiled-cli' })).body.token as string;
  const status = await cli(['pool', 'status', '--json'], { POOLDECK_TOKEN: token });
  t.is(status.code, 0, status.stderr);
  t.truthy(JSON.parse(status.stdout), status.stdout);
});
