/**
 * `npx tsx test/bench/profile-launch.ts`: a CPU profile of the server during a launch loop.
 * The compiled bench server (fake engine, real SQLite, 25 slots) runs under `node --cpu-prof`;
 * 40 rounds of 25 launches over one keep-alive connection, each round released untimed. Prints
 * the functions with the most self time and writes the .cpuprofile to test-results/profile/
 * (open it in Chrome DevTools → Performance).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { newTokenUser } from '../integration/client.ts';
import { testEnv } from '../support/server.ts';
import { buildBench, NODE_FLAGS } from './deck.ts';
import { httpCall, now, stats } from './util.ts';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'test-results', 'profile');
const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 40);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
await buildBench();
const env = testEnv({ POOLDECK_POOL: 'nginx=25', POOLDECK_PORTS_NGINX: '40000-40024', POOLDECK_USER_LIMIT: '0', POOLDECK_LOG_LEVEL: 'warn', BENCH_ENGINE: 'fake' });
const proc = spawn(process.execPath, [...NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${dir}`, path.join(root, 'build', 'bench', 'deck-process.js')], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) => readline.createInterface({ input: proc.stdout! }).on('line', (l) => JSON.parse(l).ready && resolve(JSON.parse(l).port)));
const user = await newTokenUser({ url: `http://127.0.0.1:${port}` }, 'prof');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const headers = { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' };
const launches: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const ids: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t0 = now();
    const reply = await httpCall(port, 'POST', '/api/containers', { agent, headers, body: '{"type":"nginx"}' });
    launches.push(now() - t0);
    ids.push(JSON.parse(reply.body).container.id);
  }
  for (const id of ids) await httpCall(port, 'DELETE', `/api/containers/${id}`, { agent, headers });
  for (let i = 0; i < 200; i++) {
    const pool = JSON.parse((await httpCall(port, 'GET', '/api/pool', { agent, headers })).body).pool.nginx;
    if (pool.available === 25) break;
    await new Promise((r) => setTimeout(r, 5));
  }
}
agent.destroy();
proc.stdin!.write(JSON.stringify({ id: 1, op: 'stop' }) + '\n');
await new Promise((r) => proc.once('exit', r));
rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
console.log(`launch (keep-alive, fake engine): ${JSON.stringify(stats(launches))}`);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const us = self.get(node.id) ?? 0;
  total += us;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(root + '/', '');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const area = functionName === '(idle)' ? '(idle)' : /node_modules\/([^/]+)/.exec(where)?.[1] ?? (where.startsWith('node:') ? 'node internals' : where.includes('build/bench') ? 'pooldeck (bundle)' : functionName.startsWith('(') ? functionName : 'other');
  byArea.set(area, (byArea.get(area) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
console.log(`\nprofile: ${path.join('test-results/profile', file)}, ${(total / 1e6).toFixed(1)} s sampled\n\nby area:`);
for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us).padStart(6)}  ${area}`);
console.log('\ntop functions (self time):');
for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us).padStart(6)}  ${key}`);
