/**
 * Pure decisions of a pool spread over the nodes of a cluster (Docker Swarm): which node and port
 * a new slot gets, which slots a lost or drained node takes with it, and how much capacity the
 * remaining nodes must add back. No actors, no I/O; tested as plain functions.
 *
 * A slot's node follows from its port: each node has its own port range per type, and the ranges
 * of one type never overlap, so `pool_<type>_<index>_<port>` still names a slot completely.
 */
import { parseSlotName, slotName, type Reservation } from './pool.logic.ts';
import type { NodeStatus, SlotSpec, SlotView, TypeRange } from './types.ts';

export type Nodes = Record<string, NodeStatus>;

const width = (r: TypeRange) => r.portEnd - r.portStart + 1;

/** Down or draining: the node takes no new slots and its free ones leave. */
export const isLeaving = (node: NodeStatus | undefined) => node?.state === 'down' || node?.state === 'drain';

export function nodesOf(list: NodeStatus[]): Nodes {
  return Object.fromEntries(list.map((n) => [n.name, n]));
}

/** The node whose range of `type` holds `port`. */
export function nodeOfPort(nodes: Nodes, type: string, port: number): NodeStatus | undefined {
  return Object.values(nodes).find((n) => {
    const r = n.ports[type];
    return r !== undefined && port >= r.portStart && port <= r.portEnd;
  });
}

/** The slot a name stands for on these nodes, or null when no node's range holds its port. */
export function specOfName(name: string, nodes: Nodes): SlotSpec | null {
  const parsed = parseSlotName(name);
  if (!parsed) return null;
  const node = nodeOfPort(nodes, parsed.type, parsed.hostPort);
  return node ? { name, type: parsed.type, index: parsed.index, hostPort: parsed.hostPort, node: node.name, host: node.host } : null;
}

/** How many slots of `type` the nodes that take new slots can hold. */
export function capacityOf(type: string, nodes: Nodes): number {
  return Object.values(nodes).reduce((n, node) => n + (node.state === 'ready' && node.ports[type] ? width(node.ports[type]) : 0), 0);
}

/**
 * `count` new slots of `type`: each on the ready node that runs the fewest slots of the type
 * (ties: node name), on that node's lowest free port, with the type's lowest free index. Fewer
 * come back when the nodes are full. `existing` is every slot of the pool, retiring ones too
 * (their names and ports stay taken until they are gone).
 */
export function placeSlots(type: string, count: number, existing: SlotSpec[], nodes: Nodes): SlotSpec[] {
  const portsTaken = new Set(existing.filter((s) => s.node).map((s) => `${s.node}:${s.hostPort}`));
  const indexes = new Set(existing.filter((s) => s.type === type).map((s) => s.index));
  const load = new Map<string, number>();
  for (const s of existing) if (s.type === type && s.node) load.set(s.node, (load.get(s.node) ?? 0) + 1);
  const freePort = (node: NodeStatus) => {
    const r = node.ports[type]!;
    for (let port = r.portStart; port <= r.portEnd; port++) if (!portsTaken.has(`${node.name}:${port}`)) return port;
    return null;
  };
  const candidates = Object.values(nodes).filter((n) => n.state === 'ready' && n.ports[type]);
  const placed: SlotSpec[] = [];
  while (placed.length < count) {
    const open = candidates
      .map((node) => ({ node, port: freePort(node) }))
      .filter((c): c is { node: NodeStatus; port: number } => c.port !== null)
      .sort((a, b) => (load.get(a.node.name) ?? 0) - (load.get(b.node.name) ?? 0) || a.node.name.localeCompare(b.node.name));
    const pick = open[0];
    if (!pick) break;
    let index = 0;
    while (indexes.has(index)) index++;
    indexes.add(index);
    portsTaken.add(`${pick.node.name}:${pick.port}`);
    load.set(pick.node.name, (load.get(pick.node.name) ?? 0) + 1);
    placed.push({ name: slotName(type, index, pick.port), type, index, hostPort: pick.port, node: pick.node.name, host: pick.node.host });
  }
  return placed;
}

/**
 * The slots a pool of these sizes starts with: slots already known by name (stored or running)
 * are kept first, as long as a node still claims their port and the type needs them; the rest
 * is placed anew.
 */
export function buildPlacedSlots(sizes: Record<string, number>, nodes: Nodes, knownNames: Iterable<string>): SlotSpec[] {
  const known = [...new Set(knownNames)].map((name) => specOfName(name, nodes)).filter((s): s is SlotSpec => s !== null);
  const chosen: SlotSpec[] = [];
  for (const [type, size] of Object.entries(sizes)) {
    const kept = known.filter((s) => s.type === type).sort((a, b) => a.index - b.index).slice(0, size);
    chosen.push(...kept);
    chosen.push(...placeSlots(type, size - kept.length, chosen, nodes));
  }
  return chosen;
}

export interface NodeLossPlan {
  /** Held slots on a down node: move their assignments to a free slot elsewhere. */
  move: string[];
  /** Free slots on a down or draining node: take them out of the pool. */
  retire: string[];
}

/**
 * What leaving nodes take with them. A held slot on a down node moves at once. A held slot on a
 * draining node stays while its container serves and leaves once released (then it is free); if
 * its container is gone (Swarm shuts down every task of a drained node, and a drained node takes
 * no new task, so it cannot be rebuilt there) it moves at once like one of a down node. Reserved
 * slots, slots being released and slots whose move is under way are left alone.
 */
export function planNodeLoss(slots: Record<string, SlotView>, reserved: Record<string, Reservation>, nodes: Nodes, moving: (name: string) => boolean): NodeLossPlan {
  const plan: NodeLossPlan = { move: [], retire: [] };
  for (const slot of Object.values(slots)) {
    const node = slot.node ? nodes[slot.node] : undefined;
    if (!isLeaving(node) || slot.phase === 'retiring' || reserved[slot.name]) continue;
    if (slot.assignment) {
      const lost = node!.state === 'down' || slot.state === 'failed';
      if (lost && slot.phase !== 'releasing' && !moving(slot.name)) plan.move.push(slot.name);
    } else plan.retire.push(slot.name);
  }
  return plan;
}

/** Slots that serve from a node that is not leaving (the pool's usable capacity). */
export function onStayingNodes(slots: Record<string, SlotView>, nodes: Nodes): Record<string, SlotView> {
  return Object.fromEntries(Object.entries(slots).filter(([, s]) => !s.node || !isLeaving(nodes[s.node])));
}

export interface NodeResizePlan {
  add: SlotSpec[];
  retire: string[];
  /** Slots that would have to go but are held by users. */
  kept: number;
}

/**
 * `planResize` on a cluster: the size counts the slots of nodes that are not leaving (those of a
 * down or draining node are moving away); growth is placed on ready nodes (`placeSlots`); shrinking
 * takes free slots from the highest index down, never a held or reserved one. The most a type can
 * have is what the ready nodes' ranges hold.
 */
export function planNodeResize(slots: Record<string, SlotView>, reserved: Record<string, Reservation>, type: string, size: number, nodes: Nodes): NodeResizePlan {
  const capacity = capacityOf(type, nodes);
  if (!Number.isInteger(size) || size < 0 || size > capacity) {
    throw new RangeError(`${type}: size must be an integer from 0 to ${capacity} (what the ready nodes' ${type} port ranges hold)`);
  }
  const staying = Object.values(onStayingNodes(slots, nodes)).filter((s) => s.type === type && s.phase !== 'retiring');
  if (size > staying.length) return { add: placeSlots(type, size - staying.length, Object.values(slots), nodes), retire: [], kept: 0 };
  const removable = staying
    .filter((s) => s.assignment === null && !reserved[s.name] && s.state !== 'assigned' && s.state !== 'failed')
    .sort((a, b) => b.index - a.index);
  const excess = staying.length - size;
  const retire = removable.slice(0, excess).map((s) => s.name);
  return { add: [], retire, kept: excess - retire.length };
}
