/**
 * Startup reconciliation: before the supervisor starts, match the wanted slots with what SQLite
 * remembers and what Docker has (the decision is the pure `planReconcile`), then carry it out:
 * remove orphan containers, forget rows and files of slots nobody wants, make sure every slot has its row
 * and its files directory. The slots' states are left to the supervisor and the status mirror.
 */
import type { ContainerInput } from '../../machines/events.ts';
import { buildSlots, parseSlotName, planReconcile, slotSpec } from '../../machines/pool.logic.ts';
import { buildPlacedSlots, capacityOf, nodesOf, specOfName } from '../../machines/pool.nodes.ts';
import type { NodeStatus, SlotSpec, TypeRange } from '../../machines/types.ts';
import { requireTypeSpec } from '../config.ts';
import { RequestError } from '../http/request-error.ts';
import type { PoolDeps } from './pool-actors.ts';

export function typeRanges(config: PoolDeps['config']): Record<string, TypeRange> {
  return Object.fromEntries(Object.values(config.types).map((t) => [t.type, { portStart: t.portStart, portEnd: t.portEnd }]));
}

export interface Reconciled {
  /** The container actors' inputs. */
  slots: ContainerInput[];
  /** Cluster engines: the nodes at start; null on a single engine. */
  nodes: NodeStatus[] | null;
}

/** Reconcile SQLite and Docker with the configured pool. */
export async function reconcileAtStart(deps: Pick<PoolDeps, 'config' | 'engine' | 'store' | 'files' | 'log'>): Promise<Reconciled> {
  const { config, engine, store, files, log } = deps;
  await engine.ping();
  for (const [type, size] of Object.entries(config.sizes)) {
    const { image } = requireTypeSpec(config, type);
    if (size > 0 && !(await engine.hasImage(image))) {
      throw new RequestError(500, `image ${image} is missing; build the pool images with "make images"`, 'image-missing');
    }
  }
  const ranges = typeRanges(config);
  const nodeList = engine.nodes ? await engine.nodes() : null;
  const [stored, observed] = await Promise.all([store.loadSlots(), engine.list()]);
  let wanted: SlotSpec[];
  let parse = (name: string) => {
    const parsed = parseSlotName(name);
    const range = parsed ? ranges[parsed.type] : undefined;
    return parsed && range ? slotSpec(parsed.type, parsed.index, range) : null;
  };
  if (nodeList) {
    const nodes = nodesOf(nodeList);
    wanted = buildPlacedSlots(config.sizes, nodes, [...stored.map((s) => s.name), ...observed.map((o) => o.name)]);
    parse = (name) => specOfName(name, nodes);
    for (const [type, size] of Object.entries(config.sizes)) {
      const placed = wanted.filter((s) => s.type === type).length;
      if (placed < size) log.warn('swarm.capacity', { type, size, placed, capacity: capacityOf(type, nodes), hint: `give nodes a pooldeck.ports.${type} range` });
    }
    log.info('swarm.nodes', { nodes: nodeList.map((n) => ({ name: n.name, state: n.state, host: n.host, ports: n.ports })) });
  } else wanted = buildSlots(config.sizes, ranges);
  const plan = planReconcile(wanted, stored, observed, parse);
  for (const orphan of plan.orphans) {
    log.warn('reconcile.orphan_removed', { name: orphan.name, containerId: orphan.id.slice(0, 12) });
    await engine.remove(orphan.id);
  }
  const wantedNames = new Set(plan.slots.map((s) => s.slot.name));
  for (const row of stored) if (!wantedNames.has(row.name)) await store.deleteSlot(row.name);
  // A slot nobody wants any more (grown at run time, its type shrank, or a process stopped
  // between making its directory and saving its row) leaves no files behind, or the next slot
  // of that name would serve a stranger's files.
  for (const name of await files.slotNames()) if (!wantedNames.has(name)) await files.remove(name);
  for (const s of plan.slots) {
    const type = requireTypeSpec(config, s.slot.type);
    await files.ensure(s.slot.name, s.slot.type, s.slot.hostPort);
    await store.saveSlot({ spec: s.slot, image: type.image, containerPort: type.containerPort, containerId: s.containerId });
  }
  const adopted = plan.slots.filter((s) => s.observed !== 'missing').length;
  log.info('reconcile.planned', {
    slots: plan.slots.length,
    adopted,
    create: plan.slots.length - adopted,
    orphans: plan.orphans.length,
    assignments: plan.slots.filter((s) => s.assignment).length,
    keptForAssignments: plan.keptForAssignments,
  });
  return { slots: plan.slots, nodes: nodeList };
}
