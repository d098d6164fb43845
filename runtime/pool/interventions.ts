/**
 * Containers an admin stopped or removed on purpose (restart or recreate one slot). The slot's
 * actor brings such a container back as it would a dead one; for a held slot the supervisor
 * then reports a recovery. This tells that rebuild apart from a recovery, so an admin's restart
 * is recorded as what it is and does not count as a recovery in the history charts, /metrics,
 * the monitor log or the audit log: recoveries are the supervisor bringing back dead containers.
 *
 * An intervention is open from the request until the slot's next recovery claims it, the slot
 * is reported free (a free slot comes back without a recovery; a held one released meanwhile
 * too), the slot is removed, or `maxAgeMs` has passed (a rebuild that never succeeded).
 */
import type { SlotView } from '../../machines/types.ts';

export type InterventionKind = 'restart' | 'recreate';

export interface Intervention {
  name: string;
  kind: InterventionKind;
  by: { id: number; username: string };
  at: number;
}

export class Interventions {
  private readonly open = new Map<string, Intervention>();

  constructor(
    private readonly now: () => number,
    private readonly maxAgeMs = 15 * 60_000,
  ) {}

  /** Before the Docker call: the rebuild that follows is this admin's doing. */
  expect(intervention: Intervention): void {
    this.open.set(intervention.name, intervention);
  }

  /** The Docker call failed: nothing will follow. */
  cancel(name: string): void {
    this.open.delete(name);
  }

  /** A recovery of `name` was reported: the intervention that caused it, if one is open (and then no longer). */
  claim(name: string): Intervention | null {
    const found = this.open.get(name);
    if (!found) return null;
    this.open.delete(name);
    return this.now() - found.at <= this.maxAgeMs ? found : null;
  }

  /** Every slot change: a free slot has no recovery to come. */
  slotChanged(slot: Pick<SlotView, 'name' | 'state'>): void {
    if (slot.state === 'available') this.open.delete(slot.name);
  }

  slotRemoved(name: string): void {
    this.open.delete(name);
  }
}
