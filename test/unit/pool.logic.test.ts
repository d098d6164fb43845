import test from 'ava';
import { buildSlots, chooseSlot, diffSweep, planReconcile, planResize, slotSpec } from '../../machines/pool.logic.ts';
import type { SlotView } from '../../machines/types.ts';

const ranges = { nginx: { portStart: 8000, portEnd: 8099 }, ssh: { portStart: 2200, portEnd: 2210 } };

function views(specs = buildSlots({ nginx: 3, ssh: 1 }, ranges)): Record<string, SlotView> {
  return Object.fromEntries(specs.map((s, i) => [s.name, { ...s, state: 'available', phase: 'ready', containerId: `c${i}`, assignment: null, error: null }]));
}

test('When the pool is built, then slots are named pool_<type>_<index>_<port> on consecutive ports', (t) => {
  t.deepEqual(buildSlots({ nginx: 2, ssh: 1 }, ranges).map((s) => s.name), ['pool_nginx_0_8000', 'pool_nginx_1_8001', 'pool_ssh_0_2200']);
  t.throws(() => slotSpec('ssh', 11, ranges.ssh), { instanceOf: RangeError });
});

test('When a slot is reserved, then the next launch gets the next free slot', (t) => {
  const slots = views();
  const first = chooseSlot(slots, {}, { type: 'nginx', userId: 1 }, ranges, 3);
  t.true(first.ok && first.slot.name === 'pool_nginx_0_8000');
  const second = chooseSlot(slots, { pool_nginx_0_8000: { cause: { kind: 'launch', requestId: 'r1' }, userId: 1 } }, { type: 'nginx', userId: 2 }, ranges, 3);
  t.true(second.ok && second.slot.name === 'pool_nginx_1_8001');
});

test('When the user holds the limit, or nothing is free, or the type is unknown, then the refusal says which', (t) => {
  const slots = views();
  slots.pool_nginx_0_8000 = { ...slots.pool_nginx_0_8000, state: 'assigned', assignment: { id: 1, userId: 1, username: 'a', createdAt: 0 } };
  const limited = chooseSlot(slots, { pool_nginx_1_8001: { cause: { kind: 'launch', requestId: 'x' }, userId: 1 } }, { type: 'nginx', userId: 1 }, ranges, 2);
  t.like(limited, { ok: false, refusal: 'limit' });
  const none = chooseSlot(slots, { pool_nginx_1_8001: { cause: { kind: 'launch', requestId: 'x' }, userId: 1 }, pool_nginx_2_8002: { cause: { kind: 'launch', requestId: 'y' }, userId: 3 } }, { type: 'nginx', userId: 2 }, ranges, 5);
  t.like(none, { ok: false, refusal: 'none-free' });
  t.like(chooseSlot(slots, {}, { type: 'php', userId: 2 }, ranges, 5), { ok: false, refusal: 'unknown-type' });
});

test('When resizing, then growth fills the lowest free indexes and shrinking never takes a held slot', (t) => {
  const slots = views();
  t.deepEqual(planResize(slots, {}, 'nginx', 5, ranges.nginx).add.map((s) => s.index), [3, 4]);
  slots.pool_nginx_2_8002 = { ...slots.pool_nginx_2_8002, state: 'assigned', assignment: { id: 1, userId: 1, username: 'a', createdAt: 0 } };
  const shrink = planResize(slots, {}, 'nginx', 0, ranges.nginx);
  t.deepEqual(shrink.retire, ['pool_nginx_1_8001', 'pool_nginx_0_8000']);
  t.is(shrink.kept, 1);
  t.throws(() => planResize(slots, {}, 'ssh', 12, ranges.ssh), { message: /0 to 11/ });
});

test('When a sweep sees a missing, a stopped and a foreign container, then each becomes a finding or an orphan', (t) => {
  const slots = views();
  const diff = diffSweep(slots, [
    { id: 'c0', name: 'pool_nginx_0_8000', running: true },
    { id: 'c1', name: 'pool_nginx_1_8001', running: false },
    { id: 'zz', name: 'pool_nginx_9_8009', running: true },
    { id: 'c3', name: 'pool_ssh_0_2200', running: true },
  ]);
  t.deepEqual(diff.findings.map((f) => [f.name, f.containerId, f.running]), [
    ['pool_nginx_1_8001', 'c1', false],
    ['pool_nginx_2_8002', null, false],
  ]);
  t.deepEqual(diff.orphans.map((o) => o.id), ['zz']);
});

test('When reconciling, then containers are adopted by name, missing ones created, strays orphaned and held slots kept', (t) => {
  const wanted = buildSlots({ nginx: 2 }, ranges);
  const held = { id: 7, userId: 1, username: 'a', createdAt: 0 };
  const plan = planReconcile(
    wanted,
    [{ name: 'pool_nginx_5_8005', containerId: 'old', assignment: held, dirty: true }],
    [
      { id: 'a', name: 'pool_nginx_0_8000', running: true },
      { id: 'b', name: 'pool_nginx_5_8005', running: false },
      { id: 'c', name: 'pool_nginx_7_8007', running: true },
    ],
    (name) => slotSpec('nginx', Number(name.split('_')[2]), ranges.nginx),
  );
  t.deepEqual(plan.slots.map((s) => [s.slot.name, s.observed, s.containerId]), [
    ['pool_nginx_0_8000', 'running', 'a'],
    ['pool_nginx_1_8001', 'missing', null],
    ['pool_nginx_5_8005', 'stopped', 'b'],
  ]);
  t.deepEqual(plan.orphans.map((o) => o.id), ['c']);
  t.deepEqual(plan.keptForAssignments, ['pool_nginx_5_8005']);
});

test('When slots of a type are retiring, then a grow does not reuse their indexes and a shrink skips reserved slots', (t) => {
  const slots = views(buildSlots({ nginx: 4 }, ranges));
  slots.pool_nginx_2_8002 = { ...slots.pool_nginx_2_8002, state: 'stopped', phase: 'retiring' };
  slots.pool_nginx_3_8003 = { ...slots.pool_nginx_3_8003, state: 'stopped', phase: 'retiring' };
  t.deepEqual(planResize(slots, {}, 'nginx', 4, ranges.nginx).add.map((s) => s.name), ['pool_nginx_4_8004', 'pool_nginx_5_8005']);
  const shrink = planResize(slots, { pool_nginx_1_8001: { cause: { kind: 'launch', requestId: 'r' }, userId: 1 } }, 'nginx', 0, ranges.nginx);
  t.deepEqual(shrink.retire, ['pool_nginx_0_8000']);
  t.is(shrink.kept, 1);
});
