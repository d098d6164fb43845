/**
 * The admin's restart and recreate of one slot go through the engine (stop / remove) and reach
 * the slot's actor as Docker news, like any death: no machine event of their own.
 */
import test from 'ava';
import { ann, harness, until } from './harness.ts';

test('When an admin stops a free slot\'s container (restart), then its actor starts the same container again', async (t) => {
  const h = await harness();
  await until(h.runtime, () => h.runtime.slots().every((s) => s.state === 'available'));
  const slot = h.runtime.slots().find((s) => s.type === 'nginx')!;
  const phases: string[] = [];
  h.runtime.on('slot', (s) => {
    if (s.name === slot.name) phases.push(`${s.state}.${s.phase}`);
  });
  await h.engine.stop(slot.containerId!);
  await until(h.runtime, () => phases.at(-1) === 'available.ready');
  t.deepEqual(phases, ['stopped.restarting', 'available.ready']);
  t.is(h.runtime.slots().find((s) => s.name === slot.name)!.containerId, slot.containerId);
  t.true(h.engine.byName(slot.name)!.running);
  t.is(h.engine.count('run'), 3, 'no container was created for it');
  await h.runtime.stop();
});

test('When an admin removes a held slot\'s container (recreate), then a new container serves the same assignment', async (t) => {
  const h = await harness();
  const { slot, assignment } = await h.runtime.launch(ann, 'nginx');
  h.engine.destroy(slot.name); // what Docker reports when the container is removed
  await until(h.runtime, () => {
    const now = h.runtime.slotOfAssignment(assignment.id);
    return now?.state === 'assigned' && now.containerId !== slot.containerId;
  });
  const after = h.runtime.slotOfAssignment(assignment.id)!;
  t.is(after.name, slot.name);
  t.is(h.engine.byName(slot.name)!.spec.hostPort, slot.hostPort);
  await h.runtime.stop();
});
