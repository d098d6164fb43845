import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ann, bob, harness, until } from './harness.ts';

test('When the pool starts on an empty engine, then every slot gets a container and becomes available', async (t) => {
  const h = await harness();
  t.deepEqual(h.runtime.slots().map((s) => [s.name, s.state]), [
    ['pool_nginx_0_8000', 'available'],
    ['pool_nginx_1_8001', 'available'],
    ['pool_ssh_0_2200', 'available'],
  ]);
  t.is(h.engine.count('run'), 3);
  const spec = h.engine.byName('pool_nginx_0_8000')!.spec;
  t.like(spec.labels, { pool: 'true', 'pooldeck.type': 'nginx', 'pooldeck.pool_index': '0', 'pooldeck.port': '8000' });
  t.false('status' in spec.labels);
  await h.runtime.stop();
});

test('When 20 launches race for 2 nginx slots, then exactly 2 succeed and no slot is handed out twice', async (t) => {
  const h = await harness({ POOLDECK_USER_LIMIT: '0' });
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => h.runtime.launch(i % 2 ? ann : bob, 'nginx')));
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ slot: { name: string } }>).value.slot.name);
  t.is(ok.length, 2);
  t.is(new Set(ok).size, 2);
  const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  t.true(refused.every((r) => r.reason.status === 409 && /no free nginx/.test(r.reason.message)));
  const rows = await h.db.all(`SELECT slot_name FROM assignments WHERE released_at IS NULL`);
  t.is(rows.length, 2);
  t.is(h.engine.count('start'), 0, 'hand-out never restarts a container');
  await h.runtime.stop();
});

test('When a user reaches the per-user limit, then the next launch is refused with 429', async (t) => {
  const h = await harness({ POOLDECK_USER_LIMIT: '1' });
  await h.runtime.launch(ann, 'nginx');
  const error = await t.throwsAsync(h.runtime.launch(ann, 'nginx'));
  t.like(error, { status: 429 });
  await h.runtime.launch(bob, 'nginx');
  await h.runtime.stop();
});

test('When an assigned container dies, then it is rebuilt in place with the same port and files, and the recovery is logged', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  const before = h.engine.byName(slot.name)!.id;
  const recovered = new Promise((resolve) => h.runtime.once('recovery', resolve));
  h.engine.kill(slot.name);
  await recovered;
  const after = h.runtime.slotOfAssignment(assignment.id)!;
  t.is(after.name, slot.name);
  t.is(after.state, 'assigned');
  t.not(after.containerId, before);
  t.is(h.engine.byName(slot.name)!.spec.hostPort, slot.hostPort);
  await h.runtime.stop();
  const log = await h.store.recentEvents(50, ['recovery']);
  t.is(log.length, 1);
  t.true(typeof log[0].detail.durationMs === 'number');
});

test('When docker events are missed, then the health sweep on the simulated clock finds the dead container with one list call', async (t) => {
  const h = await harness({ POOLDECK_HEALTH_INTERVAL: '30' });
  const lists = h.engine.count('list');
  h.engine.kill('pool_nginx_1_8001', true);
  await h.tick(29_000);
  t.is(h.engine.count('list'), lists, 'no sweep before the interval');
  const swept = new Promise<{ findings: unknown[]; dockerCalls: number }>((resolve) => h.runtime.once('sweep', resolve));
  h.clock.increment(1_000);
  const sweep = await swept;
  t.is(h.engine.count('list'), lists + 1);
  t.is(sweep.dockerCalls, 1);
  t.is(sweep.findings.length, 1);
  await until(h.runtime, () => h.runtime.slots().every((s) => s.state === 'available'));
  t.true(h.engine.byName('pool_nginx_1_8001')!.running);
  await h.runtime.stop();
});

test('When the interval is changed or the monitor paused, then sweeps follow the new schedule', async (t) => {
  const h = await harness({ POOLDECK_HEALTH_INTERVAL: '30' });
  h.runtime.setHealthInterval(5);
  const lists = h.engine.count('list');
  await h.tick(5_000);
  t.is(h.engine.count('list'), lists + 1);
  h.runtime.pauseMonitor();
  t.true(h.runtime.monitor().paused);
  await h.tick(60_000);
  t.is(h.engine.count('list'), lists + 1, 'no sweep while paused');
  await h.runtime.runHealthCheck();
  t.is(h.engine.count('list'), lists + 2, 'run-now works while paused');
  h.runtime.resumeMonitor();
  await h.tick(5_000);
  t.is(h.engine.count('list'), lists + 3);
  await h.runtime.stop();
});

test('When an assignment is released, then the slot gets a fresh container and wiped files before it is available again', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  const { writeFile, readFile } = await import('node:fs/promises');
  await writeFile(`${h.files.dir(slot.name)}/secret.html`, 'ann was here');
  const old = h.engine.byName(slot.name)!.id;
  await h.runtime.release(assignment.id);
  await until(h.runtime, () => h.runtime.slots().find((s) => s.name === slot.name)!.state === 'available');
  t.not(h.engine.byName(slot.name)!.id, old);
  t.deepEqual(await h.files.list(slot.name), ['index.html']);
  t.regex(await readFile(`${h.files.dir(slot.name)}/index.html`, 'utf8'), /Pooldeck nginx/);
  await t.throwsAsync(h.runtime.release(assignment.id), { message: /no such container/ });
  await h.runtime.stop();
});

test('When an ssh container is handed out, then it gets a fresh password and the user keys through one exec', async (t) => {
  const h = await harness();
  const { assignment } = await h.runtime.launch(ann, 'ssh');
  t.is(assignment.credentials?.username, 'user');
  t.true((assignment.credentials?.password.length ?? 0) >= 16);
  const exec = h.engine.execs.at(-1)!;
  t.deepEqual(exec.cmd, ['pooldeck-credentials']);
  t.true(exec.stdin!.startsWith(assignment.credentials!.password + '\n'));
  t.true(exec.stdin!.includes('ssh-ed25519'));
  await h.runtime.stop();
});

test('When the runtime restarts, then it adopts the same containers and keeps assignments without duplicates', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  const ids = [...h.engine.containers.keys()].sort();
  const h2 = await h.restart();
  t.deepEqual([...h2.engine.containers.keys()].sort(), ids, 'no container created or removed');
  const again = h2.runtime.slotOfAssignment(assignment.id)!;
  t.is(again.name, slot.name);
  t.is(again.state, 'assigned');
  await h2.runtime.stop();
});

test('When slots grown at run time are not wanted after a restart, then their rows and files directories go with them', async (t) => {
  const h = await harness();
  await h.runtime.resize('nginx', 4);
  await until(h.runtime, () => h.runtime.slots().filter((s) => s.type === 'nginx' && s.state === 'available').length === 4);
  const grown = h.runtime.slots().filter((s) => s.type === 'nginx').map((s) => s.name).sort().slice(2);
  for (const name of grown) t.true(existsSync(h.files.dir(name)), `${name} has its files before the restart`);
  const h2 = await h.restart();
  const names = h2.runtime.slots().map((s) => s.name);
  for (const name of grown) {
    t.false(names.includes(name), `${name} is not a slot after the restart (the configuration says nginx=2)`);
    t.false(existsSync(path.dirname(h2.files.dir(name))), `${name}'s files directory is gone`);
  }
  const rows = await h2.db.all<Array<{ name: string }>>('SELECT name FROM containers');
  t.deepEqual(rows.map((r) => r.name).sort(), [...names].sort());
  await h2.runtime.stop();
});

test('When the runtime restarts and a held container vanished meanwhile, then it is recreated for its holder', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  await h.runtime.stop();
  h.engine.destroy(slot.name, true);
  const h2 = await harness({}, { db: h.db, engine: h.engine, dataDir: h.config.dataDir });
  t.is(h2.runtime.slotOfAssignment(assignment.id)?.state, 'assigned');
  t.is(h2.engine.containers.size, 3);
  await h2.runtime.stop();
});

test('When in-place recovery keeps failing, then the assignment moves to a free slot of the same type', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  const moved = new Promise<{ from: string; to: string }>((resolve) => h.runtime.once('moved', resolve));
  h.engine.failRuns = 3;
  h.engine.kill(slot.name);
  for (let i = 0; i < 3; i++) await h.tick(10_000);
  const move = await moved;
  t.is(move.from, slot.name);
  t.is(h.runtime.slotOfAssignment(assignment.id)?.name, move.to);
  await until(h.runtime, () => h.runtime.slots().find((s) => s.name === slot.name)!.state === 'available');
  await h.runtime.stop();
});

test('When the pool is resized, then slots are added and free ones retired', async (t) => {
  const h = await harness();
  const grown = await h.runtime.resize('nginx', 4);
  t.deepEqual(grown.added, ['pool_nginx_2_8002', 'pool_nginx_3_8003']);
  await until(h.runtime, () => h.runtime.slots().filter((s) => s.type === 'nginx' && s.state === 'available').length === 4);
  await h.runtime.launch(ann, 'nginx');
  const shrunk = await h.runtime.resize('nginx', 0);
  t.is(shrunk.retired.length, 3);
  t.is(shrunk.kept, 1);
  await until(h.runtime, () => h.runtime.slots().filter((s) => s.type === 'nginx').length === 1);
  t.is([...h.engine.containers.values()].filter((c) => c.name.startsWith('pool_nginx')).length, 1);
  await t.throwsAsync(h.runtime.resize('nginx', 500), { message: /0 to 100/ });
  await h.runtime.stop();
});

test('When an admin removes a free slot, then its container goes and a held slot is refused', async (t) => {
  const h = await harness();
  const { slot } = await h.runtime.launch(ann, 'nginx');
  await t.throwsAsync(h.runtime.remove(slot.name), { message: /release it first/ });
  const free = h.runtime.slots().find((s) => s.type === 'nginx' && !s.assignment)!;
  await h.runtime.remove(free.name);
  await until(h.runtime, () => !h.runtime.slots().some((s) => s.name === free.name));
  t.is(h.engine.byName(free.name), undefined);
  await t.throwsAsync(h.runtime.remove('pool_nginx_9_8009'), { message: /no such container/ });
  await h.runtime.stop();
});
