/**
 * Admins: every slot of the pool, kept live by `slot:updated` / `slot:removed`, and on a Swarm
 * its nodes, kept live by `node:list`.
 */
import { SLOT_STATES, type AdminSlot, type NodeView, type SlotState } from '../../../shared/events.ts';
import { ask, type PoolSocket } from './api.ts';

export interface TypeSummary {
  type: string;
  size: number;
  counts: Record<SlotState, number>;
}

/** A node with its slots counted from the live slot list (so counts follow every `slot:updated`). */
export interface NodeSummary extends NodeView {
  /** Slots per type on this node, types in name order. */
  types: Array<{ type: string; count: number }>;
  total: number;
}

const zero = () => Object.fromEntries(SLOT_STATES.map((s) => [s, 0])) as Record<SlotState, number>;

class Pool {
  slots = $state<AdminSlot[]>([]);
  /** On a Swarm: its nodes (state, public host, port ranges); empty on one engine. */
  nodes = $state<NodeView[]>([]);
  loaded = $state(false);

  byType = $derived.by((): TypeSummary[] => {
    const summary = new Map<string, TypeSummary>();
    for (const slot of this.slots) {
      const entry = summary.get(slot.type) ?? { type: slot.type, size: 0, counts: zero() };
      entry.size += 1;
      entry.counts[slot.state] += 1;
      summary.set(slot.type, entry);
    }
    return [...summary.values()].sort((a, b) => a.type.localeCompare(b.type));
  });

  onSwarm = $derived(this.nodes.length > 0);

  byNode = $derived.by((): NodeSummary[] =>
    this.nodes.map((node) => {
      const slots = zero();
      const types = new Map<string, number>();
      let total = 0;
      for (const slot of this.slots) {
        if (slot.node !== node.name) continue;
        slots[slot.state] += 1;
        types.set(slot.type, (types.get(slot.type) ?? 0) + 1);
        total += 1;
      }
      const byName = [...types].map(([type, count]) => ({ type, count })).sort((a, b) => a.type.localeCompare(b.type));
      return { ...node, slots, types: byName, total };
    }),
  );

  upsert(slot: AdminSlot): void {
    const index = this.slots.findIndex((s) => s.name === slot.name);
    if (index >= 0) this.slots[index] = slot;
    else this.slots = [...this.slots, slot].sort((a, b) => a.type.localeCompare(b.type) || a.index - b.index);
  }

  attach(socket: PoolSocket): void {
    socket.on('slot:updated', (slot) => this.upsert(slot));
    socket.on('slot:removed', ({ name }) => {
      this.slots = this.slots.filter((s) => s.name !== name);
    });
    socket.on('node:list', (nodes) => {
      this.nodes = nodes;
    });
  }

  async sync(): Promise<void> {
    const [slots, nodes] = await Promise.all([ask('slot:list'), ask('node:list')]);
    this.slots = slots;
    this.nodes = nodes;
    this.loaded = true;
  }

  reset(): void {
    this.slots = [];
    this.nodes = [];
    this.loaded = false;
  }
}

export const pool = new Pool();
