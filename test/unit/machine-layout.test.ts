/**
 * The inspector's drawings (ui/src/lib/layout.ts, ELK) of the real machines, with text measured
 * as the drawing's 11 px monospace font sets it (~6.62 px a character): no two labels overlap,
 * and the container machine stays narrow enough to be read when fitted (it was 2455 px wide,
 * shown at ~45 %).
 */
import test from 'ava';
import { containerMachine } from '../../machines/container.machine.ts';
import { poolMachine } from '../../machines/pool.machine.ts';
import { machineGraph } from '../../runtime/realtime/machine-graph.ts';
import type { MachineGraph } from '../../shared/events.ts';

// The UI's module is type-checked with the UI's settings (svelte-check, bundler resolution), not
// this project's: imported by a path tsc does not follow, with the little this test uses typed here.
interface Drawn { width: number; height: number; edges: Array<{ label: unknown }> }
interface LayoutModule {
  layoutMachine(graph: MachineGraph, measure: (text: string) => number): Promise<Drawn>;
  overlappingLabels(layout: Drawn, measure: (text: string) => number): string[];
}
const LAYOUT: string = '../../ui/src/lib/layout.ts';
const { layoutMachine, overlappingLabels } = (await import(LAYOUT)) as LayoutModule;

const measure = (text: string) => Math.ceil(text.length * 6.62);

test('When the container and pool machines are laid out, then no labels overlap and the container machine is at most 1100 px wide', async (t) => {
  t.timeout(60_000);
  const container = await layoutMachine(machineGraph(containerMachine), measure);
  t.deepEqual(overlappingLabels(container, measure), []);
  t.true(container.width <= 1100, `container machine ${Math.round(container.width)} × ${Math.round(container.height)}`);
  t.true(container.edges.filter((e) => e.label).length >= 30, 'every transition keeps its label');
  const pool = await layoutMachine(machineGraph(poolMachine), measure);
  t.deepEqual(overlappingLabels(pool, measure), []);
  t.true(pool.width <= 1000, `pool machine ${Math.round(pool.width)} × ${Math.round(pool.height)}`);
});
