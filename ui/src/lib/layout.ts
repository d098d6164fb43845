/**
 * Lays out a machine graph (shared/events.ts MachineGraph) as nested boxes: compound states
 * hold their children in wrapped rows, parallel regions sit side by side. Edges are drawn
 * between box borders. Pure: no DOM, so it runs the same everywhere.
 */
import type { GraphEdge, GraphNode, MachineGraph } from '../../../shared/events.ts';

export interface Box {
  id: string;
  key: string;
  type: GraphNode['type'];
  x: number;
  y: number;
  w: number;
  h: number;
  depth: number;
  invoke: string[];
  initial: boolean;
}

export interface EdgePath {
  id: string;
  source: string;
  target: string;
  label: string;
  d: string;
  lx: number;
  ly: number;
}

export interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  edges: EdgePath[];
}

const LEAF_H = 34;
const HEADER = 24;
const PAD = 10;
const GAP = 22;
const CHAR_W = 7.2;
const ROW_LIMIT = 620;

interface Sized {
  node: GraphNode;
  w: number;
  h: number;
  children: Sized[];
  rows: Sized[][];
}

function measure(node: GraphNode, childrenOf: Map<string, GraphNode[]>, depth: number): Sized {
  const kids = childrenOf.get(node.id) ?? [];
  const labelW = node.key.length * CHAR_W + 24 + (node.invoke.length ? 14 : 0);
  if (kids.length === 0) return { node, w: Math.max(90, labelW), h: LEAF_H, children: [], rows: [] };
  const children = kids.map((k) => measure(k, childrenOf, depth + 1));
  const limit = Math.max(ROW_LIMIT - depth * 60, 260);
  const rows: Sized[][] = [];
  if (node.type === 'parallel') rows.push(children);
  else {
    let row: Sized[] = [];
    let width = 0;
    for (const child of children) {
      if (row.length && width + GAP + child.w > limit) {
        rows.push(row);
        row = [];
        width = 0;
      }
      width += (row.length ? GAP : 0) + child.w;
      row.push(child);
    }
    if (row.length) rows.push(row);
  }
  const inner = rows.map((r) => ({ w: r.reduce((s, c) => s + c.w, 0) + GAP * (r.length - 1), h: Math.max(...r.map((c) => c.h)) }));
  const w = Math.max(labelW, ...inner.map((r) => r.w)) + PAD * 2;
  const h = HEADER + inner.reduce((s, r) => s + r.h, 0) + GAP * (rows.length - 1) + PAD;
  return { node, w, h, children, rows };
}

function place(sized: Sized, x: number, y: number, depth: number, out: Box[], initialIds: Set<string>): void {
  out.push({
    id: sized.node.id,
    key: sized.node.key,
    type: sized.node.type,
    x,
    y,
    w: sized.w,
    h: sized.h,
    depth,
    invoke: sized.node.invoke,
    initial: initialIds.has(sized.node.id),
  });
  let cy = y + HEADER;
  for (const row of sized.rows) {
    const rowH = Math.max(...row.map((c) => c.h));
    const rowW = row.reduce((s, c) => s + c.w, 0) + GAP * (row.length - 1);
    let cx = x + (sized.w - rowW) / 2;
    for (const child of row) {
      // Stretch parallel regions to the row height so they line up.
      const stretched = sized.node.type === 'parallel' ? { ...child, h: rowH } : child;
      place(stretched, cx, cy, depth + 1, out, initialIds);
      cx += child.w + GAP;
    }
    cy += rowH + GAP;
  }
}

/** The point where the ray from the box centre towards (tx, ty) leaves the box. */
function border(b: Box, tx: number, ty: number): [number, number] {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const dx = tx - cx;
  const dy = ty - cy;
  if (dx === 0 && dy === 0) return [cx, cy];
  const sx = dx === 0 ? Infinity : b.w / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : b.h / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [cx + dx * s, cy + dy * s];
}

const contains = (outer: Box, inner: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;

function edgePaths(edges: GraphEdge[], boxes: Map<string, Box>): EdgePath[] {
  const merged = new Map<string, { source: string; target: string; labels: string[] }>();
  for (const e of edges) {
    for (const target of e.targets) {
      const key = `${e.source}→${target}`;
      const label = e.guard ? `${e.event} [${e.guard}]` : e.event;
      const entry = merged.get(key) ?? { source: e.source, target, labels: [] };
      if (!entry.labels.includes(label)) entry.labels.push(label);
      merged.set(key, entry);
    }
  }
  const out: EdgePath[] = [];
  for (const [id, m] of merged) {
    const a = boxes.get(m.source);
    const b = boxes.get(m.target);
    if (!a || !b || a === b || contains(a, b) || contains(b, a)) continue;
    const [x1, y1] = border(a, b.x + b.w / 2, b.y + b.h / 2);
    const [x2, y2] = border(b, a.x + a.w / 2, a.y + a.h / 2);
    // Bend every edge a little to one side so that A→B and B→A do not overlap.
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const len = Math.hypot(x2 - x1, y2 - y1) || 1;
    const bend = Math.min(40, len / 5);
    const cx = mx + (-(y2 - y1) / len) * bend;
    const cy = my + ((x2 - x1) / len) * bend;
    out.push({
      id,
      source: m.source,
      target: m.target,
      label: m.labels.join(' | '),
      d: `M ${x1.toFixed(1)} ${y1.toFixed(1)} Q ${cx.toFixed(1)} ${cy.toFixed(1)} ${x2.toFixed(1)} ${y2.toFixed(1)}`,
      lx: (x1 + 2 * cx + x2) / 4,
      ly: (y1 + 2 * cy + y2) / 4,
    });
  }
  return out;
}

export function layoutMachine(graph: MachineGraph): Layout {
  const childrenOf = new Map<string, GraphNode[]>();
  let root: GraphNode | undefined;
  for (const node of graph.nodes) {
    if (node.parent === null) root = node;
    else childrenOf.set(node.parent, [...(childrenOf.get(node.parent) ?? []), node]);
  }
  if (!root) return { width: 0, height: 0, boxes: [], edges: [] };
  const initialIds = new Set(graph.nodes.map((n) => n.initial).filter((i): i is string => i !== null));
  const sized = measure(root, childrenOf, 0);
  const boxes: Box[] = [];
  place(sized, 4, 4, 0, boxes, initialIds);
  const byId = new Map(boxes.map((b) => [b.id, b]));
  return { width: sized.w + 8, height: sized.h + 8, boxes, edges: edgePaths(graph.edges, byId) };
}

/** The ids of every state node active in `value`, e.g. `{ assigned: 'serving' }` → container, container.assigned, container.assigned.serving. */
export function activeIds(machineId: string, value: unknown): Set<string> {
  const out = new Set<string>([machineId]);
  const walk = (v: unknown, prefix: string) => {
    if (typeof v === 'string') out.add(`${prefix}.${v}`);
    else if (v && typeof v === 'object') {
      for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
        out.add(`${prefix}.${key}`);
        walk(child, `${prefix}.${key}`);
      }
    }
  };
  walk(value, machineId);
  return out;
}

/** The inspector's state text, the same on both sides (shared/pool.ts). */
export { stateText } from '../../../shared/pool.ts';
