import test from 'ava';
import { planExpiry, planRefill } from '../../machines/pool.policy.ts';
import { buildSlots } from '../../machines/pool.logic.ts';
import type { SlotView } from '../../machines/types.ts';
import { ann, harness, until } from './harness.ts';

const ranges = { nginx: { portStart: 8000, portEnd: 8009 } };
const held = (id: number, createdAt: number) => ({ id, userId: 1, username: 'ann', createdAt });

function views(n: number): Record<string, SlotView> {
  return Object.fromEntries(buildSlots({ nginx: n }, ranges).map((s) => [s.name, { ...s, state: 'available', phase: 'ready', containerId: s.name, assignment: null, error: null }]));
}

test('When an assignment nears its idle deadline, then it is warned once, and released when the deadline passes', (t) => {
  const slots = views(1);
  slots.pool_nginx_0_8000 = { ...slots.pool_nginx_0_8000, state: 'assigned', phase: 'serving', assignment: held(5, 0) };
  const policy = { idleTtlMs: 1000, maxLifetimeMs: 0, warnMs: 200 };
  t.deepEqual(planExpiry(slots, { 5: 0 }, {}, policy, 700), { expire: [], warn: [] });
  const warned = planExpiry(slots, {}, {}, policy, 850);
  t.is(warned.warn[0]?.reason, 'idle');
  t.deepEqual(planExpiry(slots, {}, { 5: 1000 }, policy, 900).warn, [], 'the same deadline is warned about once');
  t.deepEqual(planExpiry(slots, { 5: 600 }, { 5: 1000 }, policy, 1100).expire, [], 'activity moves the deadline');
  t.is(planExpiry(slots, {}, {}, policy, 1000).expire[0]?.name, 'pool_nginx_0_8000');
});

test('When the maximum lifetime comes before the idle deadline, then it is the reason', (t) => {
  const slots = views(1);
  slots.pool_nginx_0_8000 = { ...slots.pool_nginx_0_8000, state: 'assigned', phase: 'serving', assignment: held(5, 0) };
  const due = planExpiry(slots, { 5: 5000 }, {}, { idleTtlMs: 1000, maxLifetimeMs: 3000, warnMs: 0 }, 3000);
  t.is(due.expire[0]?.reason, 'lifetime');
});

test('When an elastic type runs low on warm containers, then slots are added up to its maximum, and surplus is retired later', (t) => {
  const slots = views(2);
  slots.pool_nginx_0_8000 = { ...slots.pool_nginx_0_8000, state: 'assigned', phase: 'serving', assignment: held(1, 0) };
  const plan = planRefill(slots, { pool_nginx_1_8001: { cause: { kind: 'launch', requestId: 'r' }, userId: 2 } }, { nginx: { minWarm: 2, max: 3 } }, { nginx: 2 }, ranges);
  t.deepEqual(plan.add.map((s) => s.name), ['pool_nginx_2_8002'], 'capped by max');
  const calm = views(4);
  t.deepEqual(planRefill(calm, {}, { nginx: { minWarm: 1, max: 6 } }, { nginx: 2 }, ranges).retire, ['pool_nginx_3_8003', 'pool_nginx_2_8002']);
});

test('When an elastic type refills while slots are retiring, then the new slots take indexes no retiring slot holds', (t) => {
  const slots = views(3);
  slots.pool_nginx_0_8000 = { ...slots.pool_nginx_0_8000, state: 'assigned', phase: 'serving', assignment: held(1, 0) };
  slots.pool_nginx_1_8001 = { ...slots.pool_nginx_1_8001, state: 'stopped', phase: 'retiring' };
  const plan = planRefill(slots, {}, { nginx: { minWarm: 2, max: 5 } }, { nginx: 1 }, ranges);
  t.deepEqual(plan.add.map((s) => s.name), ['pool_nginx_3_8003']);
});

test('When the idle TTL passes on the simulated clock, then the supervisor warns, then releases the assignment into a fresh container', async (t) => {
  const h = await harness({ POOLDECK_IDLE_TTL: '300', POOLDECK_EXPIRY_WARNING: '60', POOLDECK_HEALTH_INTERVAL: '30' });
  const warnings: string[] = [];
  h.runtime.on('expiring', (e) => warnings.push(e.reason));
  let expiredAt = 0;
  const expired = new Promise((resolve) => h.runtime.once('expired', resolve)).then(() => (expiredAt = elapsed));
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  let elapsed = 0;
  const step = async () => {
    elapsed += 30;
    await h.tick(30_000);
  };
  while (elapsed < 120) await step();
  h.runtime.touch(assignment.id);
  while (elapsed < 330) await step();
  t.deepEqual(warnings, [], 'activity at 120 s moved the deadline to 420 s; no warning before 360 s');
  await step();
  t.deepEqual(warnings, ['idle'], 'warned at 360 s');
  await step();
  t.is(expiredAt, 0, 'not released before the deadline');
  await step();
  await expired;
  t.is(expiredAt, 420);
  await until(h.runtime, () => h.runtime.slots().find((s) => s.name === slot.name)!.state === 'available');
  t.is(h.runtime.slotOfAssignment(assignment.id), undefined);
  const row = await h.db.get(`SELECT released_at FROM assignments WHERE id = ?`, assignment.id);
  t.truthy(row.released_at);
  await h.runtime.stop();
});

test('When an elastic type hands out its warm containers, then the supervisor creates new ones in the background', async (t) => {
  const h = await harness({ POOLDECK_POOL: 'nginx=2', POOLDECK_WARM: 'nginx=2:4', POOLDECK_USER_LIMIT: '0' });
  await h.runtime.launch(ann, 'nginx');
  await until(h.runtime, () => h.runtime.slots().length === 3 && h.runtime.slots().every((s) => s.state !== 'stopped'));
  await h.runtime.launch(ann, 'nginx');
  await h.runtime.launch(ann, 'nginx');
  await until(h.runtime, () => h.runtime.slots().length === 4 && h.runtime.slots().every((s) => s.state === 'available' || s.state === 'assigned'));
  const free = h.runtime.slots().filter((s) => s.state === 'available').length;
  t.is(free, 1, 'capped at max 4 containers');
  t.is(h.engine.containers.size, 4);
  await h.runtime.stop();
});
