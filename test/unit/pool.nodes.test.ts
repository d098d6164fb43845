import test from 'ava';
import { buildPlacedSlots, capacityOf, nodesOf, placeSlots, planNodeLoss, planNodeResize, specOfName } from '../../machines/pool.nodes.ts';
import type { NodeStatus, SlotSpec, SlotView } from '../../machines/types.ts';

const node = (name: string, base: number, state: NodeStatus['state'] = 'ready', types = ['nginx', 'ssh']): NodeStatus => ({
  name,
  state,
  host: '127.0.0.1',
  ports: Object.fromEntries(types.map((t) => [t, t === 'nginx' ? { portStart: base, portEnd: base + 4 } : { portStart: base + 5, portEnd: base + 6 }])),
});

const two = (state2: NodeStatus['state'] = 'ready') => nodesOf([node('n1', 9100), node('n2', 9110, state2)]);

function views(specs: SlotSpec[]): Record<string, SlotView> {
  return Object.fromEntries(specs.map((s, i) => [s.name, { ...s, state: 'available', phase: 'ready', containerId: `c${i}`, assignment: null, error: null }]));
}

const held = (slot: SlotView, id: number): SlotView => ({ ...slot, state: 'assigned', phase: 'serving', assignment: { id, userId: id, username: `u${id}`, createdAt: 0 } });

test('When slots are placed, then they alternate over the nodes, each on its node\'s lowest free port', (t) => {
  const slots = placeSlots('nginx', 4, [], two());
  t.deepEqual(slots.map((s) => [s.name, s.node]), [
    ['pool_nginx_0_9100', 'n1'],
    ['pool_nginx_1_9110', 'n2'],
    ['pool_nginx_2_9101', 'n1'],
    ['pool_nginx_3_9111', 'n2'],
  ]);
  t.is(capacityOf('nginx', two()), 10);
  t.is(placeSlots('ssh', 9, [], two()).length, 4, 'no more than the nodes\' ranges hold');
});

test('When a node is down, draining or does not run a type, then it gets no new slot of it', (t) => {
  t.true(placeSlots('nginx', 3, [], two('down')).every((s) => s.node === 'n1'));
  t.true(placeSlots('nginx', 3, [], two('drain')).every((s) => s.node === 'n1'));
  const nginxOnly = nodesOf([node('n1', 9100), node('n2', 9110, 'ready', ['nginx'])]);
  t.true(placeSlots('ssh', 2, [], nginxOnly).every((s) => s.node === 'n1'));
  t.is(capacityOf('nginx', two('down')), 5);
});

test('When a name is parsed, then its port tells its node; a port no node claims gives nothing', (t) => {
  t.like(specOfName('pool_nginx_3_9111', two()), { type: 'nginx', index: 3, hostPort: 9111, node: 'n2' });
  t.is(specOfName('pool_nginx_3_9999', two()), null);
  t.is(specOfName('pool_ssh_0_9100', two()), null, 'a port of another type\'s range');
});

test('When the pool starts, then known slots are kept and only the rest is placed', (t) => {
  const slots = buildPlacedSlots({ nginx: 3 }, two(), ['pool_nginx_5_9113', 'pool_nginx_0_9999']);
  t.deepEqual(slots.map((s) => s.name), ['pool_nginx_5_9113', 'pool_nginx_0_9100', 'pool_nginx_1_9101']);
});

test('When a node goes down, then its held slots move, its free ones retire, and the other node refills', (t) => {
  const specs = placeSlots('nginx', 4, [], two());
  let slots = views(specs);
  slots.pool_nginx_1_9110 = held(slots.pool_nginx_1_9110!, 7);
  const nodes = two('down');
  const plan = planNodeLoss(slots, {}, nodes, () => false);
  t.deepEqual(plan, { move: ['pool_nginx_1_9110'], retire: ['pool_nginx_3_9111'] });
  t.deepEqual(planNodeLoss(slots, {}, nodes, (name) => name === 'pool_nginx_1_9110').move, [], 'a move under way is not started twice');
  slots = { ...slots, pool_nginx_3_9111: { ...slots.pool_nginx_3_9111!, phase: 'retiring' } };
  const { add } = planNodeResize(slots, {}, 'nginx', 4, nodes);
  t.deepEqual(add.map((s) => [s.name, s.node]), [['pool_nginx_4_9102', 'n1'], ['pool_nginx_5_9103', 'n1']]);
  t.throws(() => planNodeResize(slots, {}, 'nginx', 6, nodes), { message: /0 to 5/ }, 'only the ready node\'s range counts');
});

test('When a node drains, then free slots leave at once and held ones stay until released', (t) => {
  const slots = views(placeSlots('nginx', 2, [], two()));
  slots.pool_nginx_1_9110 = held(slots.pool_nginx_1_9110!, 1);
  t.deepEqual(planNodeLoss(slots, {}, two('drain'), () => false), { move: [], retire: [] });
  const released = { ...slots, pool_nginx_1_9110: { ...slots.pool_nginx_1_9110!, state: 'available' as const, assignment: null } };
  t.deepEqual(planNodeLoss(released, {}, two('drain'), () => false).retire, ['pool_nginx_1_9110']);
  t.deepEqual(planNodeLoss(released, { pool_nginx_1_9110: { cause: { kind: 'launch', requestId: 'r' }, userId: 1 } }, two('drain'), () => false).retire, [], 'not a reserved one');
});

test('When every node is ready and the pool is whole, then nothing is added; shrinking takes free slots from the top', (t) => {
  const slots = views(placeSlots('nginx', 4, [], two()));
  t.deepEqual(planNodeResize(slots, {}, 'nginx', 4, two()), { add: [], retire: [], kept: 0 });
  slots.pool_nginx_3_9111 = held(slots.pool_nginx_3_9111!, 1);
  t.deepEqual(planNodeResize(slots, { pool_nginx_2_9101: { cause: { kind: 'launch', requestId: 'r' }, userId: 2 } }, 'nginx', 1, two()), { add: [], retire: ['pool_nginx_1_9110', 'pool_nginx_0_9100'], kept: 1 });
});
