/**
 * Admins: every actor of the pool, live. Holds the machine drawings sent once on subscribe
 * and applies `inspect:event` batches. Actors are replaced, not mutated ($state.raw), since a
 * batch can touch many of them at once.
 */
import type { InspectActor, InspectBatch, MachineGraph } from '../../../shared/events.ts';
import { ask, type PoolSocket } from './api.ts';

const HISTORY = 40;

class Inspector {
  machines = $state.raw<Record<string, MachineGraph>>({});
  actors = $state.raw<Record<string, InspectActor>>({});
  selected = $state<string | null>(null);
  subscribed = $state(false);
  lastBatchAt = $state<number | null>(null);

  list = $derived(Object.values(this.actors).sort((a, b) => a.startedAt - b.startedAt || a.name.localeCompare(b.name)));
  current = $derived(this.selected ? (this.actors[this.selected] ?? null) : null);

  attach(socket: PoolSocket): void {
    socket.on('inspect:event', (batch) => this.apply(batch));
  }

  apply(batch: InspectBatch): void {
    const next = { ...this.actors };
    for (const state of batch.actors) next[state.id] = { ...state, events: next[state.id]?.events ?? [] };
    for (const record of batch.records) {
      const actor = next[record.actor];
      if (!actor) continue;
      next[record.actor] = { ...actor, events: [...actor.events, record].slice(-HISTORY) };
    }
    for (const id of batch.removed) delete next[id];
    this.actors = next;
    this.lastBatchAt = Date.now();
  }

  async subscribe(): Promise<void> {
    this.subscribed = true;
    const snapshot = await ask('inspect:subscribe');
    this.machines = snapshot.machines;
    this.actors = Object.fromEntries(snapshot.actors.map((a) => [a.id, a]));
    if (!this.selected || !this.actors[this.selected]) {
      this.selected = snapshot.actors.find((a) => a.parent === null)?.id ?? snapshot.actors[0]?.id ?? null;
    }
  }

  async unsubscribe(): Promise<void> {
    if (!this.subscribed) return;
    this.subscribed = false;
    await ask('inspect:unsubscribe').catch(() => undefined);
  }

  async sync(): Promise<void> {
    if (this.subscribed) await this.subscribe();
  }

  reset(): void {
    this.subscribed = false;
    this.machines = {};
    this.actors = {};
    this.selected = null;
  }
}

export const inspector = new Inspector();
