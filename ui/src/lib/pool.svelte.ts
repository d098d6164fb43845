/** Admins: every slot of the pool, kept live by `slot:updated` / `slot:removed`. */
import { SLOT_STATES, type AdminSlot, type SlotState } from '../../../shared/events.ts';
import { ask, type PoolSocket } from './api.ts';

export interface TypeSummary {
  type: string;
  size: number;
  counts: Record<SlotState, number>;
}

class Pool {
  slots = $state<AdminSlot[]>([]);
  loaded = $state(false);

  byType = $derived.by((): TypeSummary[] => {
    const summary = new Map<string, TypeSummary>();
    for (const slot of this.slots) {
      const entry = summary.get(slot.type) ?? { type: slot.type, size: 0, counts: Object.fromEntries(SLOT_STATES.map((s) => [s, 0])) as Record<SlotState, number> };
      entry.size += 1;
      entry.counts[slot.state] += 1;
      summary.set(slot.type, entry);
    }
    return [...summary.values()].sort((a, b) => a.type.localeCompare(b.type));
  });

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
  }

  async sync(): Promise<void> {
    this.slots = await ask('slot:list');
    this.loaded = true;
  }

  reset(): void {
    this.slots = [];
    this.loaded = false;
  }
}

export const pool = new Pool();
