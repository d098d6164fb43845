/**
 * Lays out a machine graph (shared/events.ts MachineGraph) with ELK: the layered algorithm,
 * orthogonal edge routing, compound states as nested boxes (hierarchy handled in one pass so
 * edges between nesting levels are routed too), edge labels placed by ELK so they collide with
 * neither boxes nor each other. Text is measured by the caller (a canvas in the browser), so
 * this module has no DOM of its own.
 */
import type { ELK as Elk, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import type { GraphNode, MachineGraph } from '../../../shared/events.ts';

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
  compound: boolean;
}

export interface EdgePath {
  id: string;
  source: string;
  target: string;
  /** One line per event (`slot.release`, `container.died [isMine]`). */
  lines: string[];
  d: string;
  /** The label's box (top-left corner and size), placed by ELK. */
  label: { x: number; y: number; w: number; h: number } | null;
}

export interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  edges: EdgePath[];
}

/** Width in px of a line of text as the drawing's font renders it. */
export type Measure = (text: string) => number;

export const LINE_H = 15;
const LEAF_H = 34;
const HEADER = 26;

let elk: Promise<Elk> | null = null;
/** ELK is big (~1.5 MB): loaded the first time a drawing is needed, not with the dashboard. */
const loadElk = () => (elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default()));

/**
 * Spacing kept tight so a machine fits the panel at a readable size; ELK still keeps labels clear
 * of boxes and of each other. Edge labels go first at the head of their edge (beside the arrow,
 * `HEAD_LABELS`): centred labels become dummy nodes in layers of their own, which made the
 * container machine ~2.5 times wider (2455 × 1499 px against 948 × 1555) and so fitted at under
 * half size. Where head labels collide (edges running sideways, as in the pool's parallel
 * `monitor` region), the drawing is laid out again with centred labels.
 */
const OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.layered.spacing.nodeNodeBetweenLayers': '16',
  'elk.spacing.nodeNode': '12',
  'elk.spacing.edgeNode': '8',
  'elk.spacing.edgeEdge': '6',
  'elk.spacing.edgeLabel': '3',
  'elk.spacing.labelLabel': '4',
  'elk.layered.spacing.edgeNodeBetweenLayers': '8',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '6',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
};
const HEAD_LABELS = { 'elk.edgeLabels.placement': 'HEAD' };

const ancestors = (id: string, parentOf: Map<string, string | null>): string[] => {
  const out: string[] = [];
  for (let p = parentOf.get(id) ?? null; p !== null; p = parentOf.get(p) ?? null) out.push(p);
  return out;
};

/** Merge transitions between the same two states into one edge with one line per event. */
function mergedEdges(graph: MachineGraph, known: Set<string>, parentOf: Map<string, string | null>) {
  const merged = new Map<string, { source: string; target: string; lines: string[] }>();
  for (const e of graph.edges) {
    for (const target of e.targets) {
      if (!known.has(e.source) || !known.has(target) || e.source === target) continue;
      // A transition into one's own child or out to one's own parent is drawn by nesting.
      if (ancestors(target, parentOf).includes(e.source) || ancestors(e.source, parentOf).includes(target)) continue;
      const key = `${e.source}→${target}`;
      const line = e.guard ? `${e.event} [${e.guard}]` : e.event;
      const entry = merged.get(key) ?? { source: e.source, target, lines: [] };
      if (!entry.lines.includes(line)) entry.lines.push(line);
      merged.set(key, entry);
    }
  }
  return [...merged.entries()].map(([id, m]) => ({ id, ...m }));
}

/** Lays out a machine: compact (head labels) unless labels would overlap there, then with centred labels. */
export async function layoutMachine(graph: MachineGraph, measure: Measure, overrides: Record<string, string> = {}): Promise<Layout> {
  const compact = await layoutWith(graph, measure, { ...HEAD_LABELS, ...overrides });
  if (overlappingLabels(compact, measure).length === 0) return compact;
  return layoutWith(graph, measure, overrides);
}

/** The box a state's title takes (as MachineDiagram draws it: 11 px text, baseline 18 px down or mid-box). */
const titleBox = (b: Box, measure: Measure) => ({
  text: b.key,
  x: b.x + 10,
  y: (b.compound ? b.y + 18 : b.y + b.h / 2 + 4) - 9,
  w: measure(`${b.key}${b.invoke.length ? ' ⚙' : ''}`),
  h: 12,
});

/** Pairs of labels (state titles, edge labels) whose boxes overlap by more than a pixel each way. */
export function overlappingLabels(layout: Layout, measure: Measure): string[] {
  const labels = [
    ...layout.boxes.map((b) => titleBox(b, measure)),
    ...layout.edges.flatMap((e) => (e.label ? [{ text: e.lines.join(', '), x: e.label.x + 4, y: e.label.y + 2, w: e.label.w - 8, h: e.label.h - 4 }] : [])),
  ];
  const out: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i]!;
      const b = labels[j]!;
      if (Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 1 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 1) out.push(`${a.text} × ${b.text}`);
    }
  }
  return out;
}

async function layoutWith(graph: MachineGraph, measure: Measure, overrides: Record<string, string>): Promise<Layout> {
  const parentOf = new Map(graph.nodes.map((n) => [n.id, n.parent]));
  const childrenOf = new Map<string, GraphNode[]>();
  let root: GraphNode | undefined;
  for (const node of graph.nodes) {
    if (node.parent === null) root = node;
    else childrenOf.set(node.parent, [...(childrenOf.get(node.parent) ?? []), node]);
  }
  if (!root) return { width: 0, height: 0, boxes: [], edges: [] };
  const initialIds = new Set(graph.nodes.map((n) => n.initial).filter((i): i is string => i !== null));
  const title = (n: GraphNode) => `${n.key}${n.invoke.length ? ' ⚙' : ''}`;

  const elkNodes = new Map<string, ElkNode>();
  const build = (node: GraphNode): ElkNode => {
    const kids = childrenOf.get(node.id) ?? [];
    const titleW = measure(title(node)) + 24;
    const elkNode: ElkNode = kids.length
      ? {
          id: node.id,
          children: kids.map(build),
          edges: [],
          layoutOptions: {
            'elk.padding': `[top=${HEADER + 6},left=12,bottom=12,right=12]`,
            'elk.nodeSize.constraints': 'MINIMUM_SIZE',
            'elk.nodeSize.minimum': `(${titleW},${HEADER + 20})`,
            ...(node.type === 'parallel' ? { 'elk.direction': 'RIGHT' } : {}),
          },
        }
      : { id: node.id, width: Math.max(80, titleW), height: LEAF_H };
    elkNodes.set(node.id, elkNode);
    return elkNode;
  };
  const elkRoot = build(root);

  const edges = mergedEdges(graph, new Set(parentOf.keys()), parentOf);
  for (const edge of edges) {
    // The edge belongs to the deepest state that holds both ends.
    const sourceUp = [edge.source, ...ancestors(edge.source, parentOf)];
    const targetUp = new Set([edge.target, ...ancestors(edge.target, parentOf)]);
    const container = sourceUp.find((id) => targetUp.has(id) && id !== edge.source && id !== edge.target) ?? root.id;
    const width = Math.max(...edge.lines.map(measure)) + 8;
    const elkEdge: ElkExtendedEdge = {
      id: edge.id,
      sources: [edge.source],
      targets: [edge.target],
      labels: [{ id: `${edge.id}#label`, text: edge.lines.join('\n'), width, height: edge.lines.length * LINE_H + 4 }],
    };
    elkNodes.get(container)!.edges!.push(elkEdge);
  }

  const laid = await (await loadElk()).layout(elkRoot, { layoutOptions: { ...OPTIONS, ...overrides } });

  const boxes: Box[] = [];
  const walk = (node: ElkNode, depth: number) => {
    const info = graph.nodes.find((n) => n.id === node.id)!;
    boxes.push({
      id: node.id,
      key: info.key,
      type: info.type,
      x: node.x ?? 0,
      y: node.y ?? 0,
      w: node.width ?? 0,
      h: node.height ?? 0,
      depth,
      invoke: info.invoke,
      initial: initialIds.has(node.id),
      compound: (node.children?.length ?? 0) > 0,
    });
    for (const child of node.children ?? []) walk(child, depth + 1);
  };
  walk(laid, 0);

  const paths: EdgePath[] = [];
  const collect = (node: ElkNode) => {
    for (const e of node.edges ?? []) {
      const source = edges.find((m) => m.id === e.id)!;
      const d = (e.sections ?? [])
        .map((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p, i) => `${i ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' '))
        .join(' ');
      const l = e.labels?.[0];
      paths.push({
        id: e.id,
        source: source.source,
        target: source.target,
        lines: source.lines,
        d,
        label: l && l.x !== undefined && l.y !== undefined ? { x: l.x, y: l.y, w: l.width ?? 0, h: l.height ?? 0 } : null,
      });
    }
    for (const child of node.children ?? []) collect(child);
  };
  collect(laid);

  return { width: laid.width ?? 0, height: laid.height ?? 0, boxes, edges: paths };
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
