/** Regression tests for races found in the pool machines (issue 10), on the fake engine. */
import test from 'ava';
import { existsSync } from 'node:fs';
import { ann, bob, harness, until } from './harness.ts';

const nginx = (h: { runtime: { slots(): Array<{ type: string; name: string; state: string; phase: string }> } }) =>
  h.runtime.slots().filter((s) => s.type === 'nginx');

test('When the pool shrinks 4→2 and grows back to 4 before the shrink finished, then it settles at 4 slots and 4 containers', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=4' });
  const shrink = h.runtime.resize('nginx', 2);
  const grow = h.runtime.resize('nginx', 4);
  t.deepEqual((await shrink).retired, ['pool_nginx_3_8003', 'pool_nginx_2_8002']);
  const grown = await grow;
  t.is(grown.added.length, 2);
  t.false(grown.added.some((name) => (name === 'pool_nginx_2_8002' || name === 'pool_nginx_3_8003')), 'names still retiring are not handed out again');
  await until(h.runtime, () => nginx(h).length === 4 && nginx(h).every((s) => s.state === 'available' && s.phase === 'ready'));
  await h.quiet();
  t.is(nginx(h).length, 4);
  t.deepEqual([...h.engine.containers.values()].map((c) => c.name).sort(), nginx(h).map((s) => s.name).sort());
  const rows = await h.db.all<Array<{ name: string }>>(`SELECT name FROM containers WHERE pool_name = ? ORDER BY name`, h.config.poolName);
  t.deepEqual(rows.map((r) => r.name), nginx(h).map((s) => s.name).sort());
  const sweep = await h.runtime.runHealthCheck();
  t.deepEqual([sweep.findings, sweep.orphans], [[], []]);
  await h.runtime.stop();
});

test('When a released slot is retired while its container is being rebuilt, then no row, directory or container is left for it', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=2', POOLDECK_USER_LIMIT: '0' });
  await h.runtime.launch(ann, 'nginx');
  const second = await h.runtime.launch(bob, 'nginx');
  t.is(second.slot.name, 'pool_nginx_1_8001');
  h.engine.holdRuns();
  await h.runtime.release(second.assignment.id);
  await until(h.runtime, () => h.engine.runsHeld === 1);
  const shrunk = await h.runtime.resize('nginx', 0);
  t.deepEqual([shrunk.retired, shrunk.kept], [['pool_nginx_1_8001'], 1]);
  h.engine.releaseRuns();
  await until(h.runtime, () => !nginx(h).some((s) => s.name === 'pool_nginx_1_8001'));
  await h.quiet();
  t.is(h.engine.byName('pool_nginx_1_8001'), undefined, 'no container for the retired slot');
  t.is(await h.db.get(`SELECT name FROM containers WHERE pool_name = ? AND name = 'pool_nginx_1_8001'`, h.config.poolName), undefined, 'no row');
  t.false(existsSync(h.files.dir('pool_nginx_1_8001')), 'no files directory');
  const sweep = await h.runtime.runHealthCheck();
  t.deepEqual(sweep.orphans, []);
  await h.runtime.stop();
});

test('When a shrink is decided while a launch is reserving the last free slot, then the reserved slot is not retired', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=1' });
  const launch = h.runtime.launch(ann, 'nginx');
  const shrink = h.runtime.resize('nginx', 0);
  const { slot } = await launch;
  const result = await shrink;
  t.deepEqual([result.retired, result.kept], [[], 1]);
  await h.quiet();
  t.is(h.runtime.slotOfAssignment((await launch).assignment.id)?.name, slot.name);
  t.is(h.engine.byName(slot.name)?.running, true);
  await h.runtime.stop();
});

test('When a slot kept for its holder by a shrink is released, then it is retired and the pool reaches the size asked for', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=2' });
  const { assignment } = await h.runtime.launch(ann, 'nginx');
  const shrunk = await h.runtime.resize('nginx', 0);
  t.is(shrunk.kept, 1);
  await h.runtime.release(assignment.id);
  await until(h.runtime, () => nginx(h).length === 0);
  await h.quiet();
  t.is(h.engine.containers.size, 0, 'no container is left');
  await h.runtime.stop();
});

test('When releasing a failed slot fails to be stored, then the release is answered as a failed release and the slot goes on recovering', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=1' });
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  h.engine.failRuns = 1_000;
  h.engine.kill(slot.name);
  await until(h.runtime, () => h.runtime.slots()[0]!.state === 'failed');
  await h.quiet();
  const releaseAssignment = h.store.releaseAssignment;
  h.store.releaseAssignment = async () => {
    throw new Error('database is locked');
  };
  const error = await t.throwsAsync(h.runtime.release(assignment.id));
  t.like(error, { status: 503 });
  t.is(error!.message, 'could not release pool_nginx_0_8000 right now; it is still yours, try again in a moment');
  t.notRegex(error!.message, /database|locked/, 'the store\'s words go to the log, not to the asker');
  await h.quiet();
  const after = h.runtime.slotOfAssignment(assignment.id);
  t.is(after?.state, 'failed', 'still failed (being rebuilt), not serving a dead container');
  h.store.releaseAssignment = releaseAssignment;
  h.engine.failRuns = 0;
  await h.tick(60_000);
  await until(h.runtime, () => h.runtime.slotOfAssignment(assignment.id)?.state === 'assigned');
  t.true(h.engine.byName(slot.name)?.running);
  await h.runtime.release(assignment.id);
  await h.runtime.stop();
});

test('When a launch picks a slot whose container just died, then the launch is answered (by another slot or a refusal), never left waiting', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=2' });
  const first = h.engine.byName('pool_nginx_0_8000')!;
  h.engine.kill(first.name, true);
  let launched: ReturnType<typeof h.runtime.launch> | undefined;
  let answered = false;
  // Both arrive while the pool is busy: the launch is decided before the slot's news of the death.
  const sub = h.runtime.actor.on('monitor.changed', () => {
    sub.unsubscribe();
    h.runtime.actor.send({ type: 'docker.event', action: 'die', containerId: first.id, name: first.name, at: Date.now() });
    launched = h.runtime.launch(ann, 'nginx');
    void launched.finally(() => (answered = true));
  });
  h.runtime.setHealthInterval(30);
  await h.quiet();
  t.true(answered, 'the launch was answered');
  t.is((await launched!).slot.name, 'pool_nginx_1_8001');
  await h.runtime.stop();
});
