/**
 * A JSON drawing plan of an XState machine: its state nodes (by dotted path) and its
 * transitions with readable event names. Built once from the machine's root state node and
 * sent to the inspector, which lays it out; the browser never imports the machines.
 */
import type { AnyStateMachine } from 'xstate';
import type { GraphEdge, GraphNode, MachineGraph } from '../../shared/events.ts';

interface NodeLike {
  id: string;
  key: string;
  type: GraphNode['type'];
  path: string[];
  machine: { id: string };
  parent?: NodeLike;
  states: Record<string, NodeLike>;
  initial?: { target: Array<{ id: string }> };
  invoke: Array<{ src: unknown; id: string }>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
}

interface TransitionLike {
  eventType: string;
  target?: Array<{ id: string }>;
  guard?: unknown;
}

const srcName = (src: unknown) => (typeof src === 'string' ? src : (src as { id?: string })?.id ?? 'actor');

function pathOf(node: NodeLike): string {
  return [node.machine.id, ...node.path].join('.');
}

function guardName(guard: unknown): string | null {
  if (!guard) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  if (typeof guard === 'function') return (guard as { name?: string }).name || 'guard';
  return 'guard';
}

function eventLabel(eventType: string, invokes: Map<string, string>): string {
  if (eventType === '') return 'always';
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const [, outcome, actorId] = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType) ?? [];
  if (outcome && actorId) return `${outcome}: ${invokes.get(actorId) ?? actorId}`;
  return eventType;
}

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const invokes = new Map<string, string>();
  const all: NodeLike[] = [];

  const walk = (node: NodeLike) => {
    all.push(node);
    for (const inv of node.invoke ?? []) invokes.set(inv.id, srcName(inv.src));
    for (const child of Object.values(node.states ?? {})) walk(child);
  };
  walk(machine.root as unknown as NodeLike);

  // State node ids can be custom (`#foo`); the drawing uses paths, so translate ids to paths.
  const byId = new Map(all.map((n) => [n.id, pathOf(n)]));
  const target = (t: { id: string }) => byId.get(t.id) ?? t.id;

  for (const node of all) {
    const id = pathOf(node);
    nodes.push({
      id,
      key: node.path.length ? node.key : node.machine.id,
      parent: node.parent ? pathOf(node.parent) : null,
      type: node.type,
      initial: node.type === 'compound' && node.initial?.target[0] ? target(node.initial.target[0]) : null,
      invoke: (node.invoke ?? []).map((i) => srcName(i.src)),
    });
    const transitions = [...(node.always ?? []), ...[...(node.transitions?.values() ?? [])].flat()];
    for (const t of transitions) {
      edges.push({
        source: id,
        targets: (t.target ?? []).map(target),
        event: eventLabel(t.eventType, invokes),
        guard: guardName(t.guard),
      });
    }
  }
  return { id: machine.id, nodes, edges };
}
