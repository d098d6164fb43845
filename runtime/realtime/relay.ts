/**
 * What the pool does, told to the people allowed to see it: the PoolRuntime's events become
 * socket.io broadcasts into rooms (`user:<id>` for a holder, `users` for counts, `admins` for
 * every slot, the Swarm's nodes and the monitor).
 *
 * Slot changes can be held back: a command that is about to change slots (a launch, a release)
 * holds the changes that concern it until its caller has been acknowledged (handler.ts), so the
 * caller hears its answer first. Held changes keep their order per slot and go out when the
 * last hold on them ends.
 */
import type { SlotView } from '../../machines/types.ts';
import type { Config } from '../config.ts';
import { adminSlot, liveContainer, monitorView, nodeView, sweepView } from '../http/views.ts';
import type { MonitorStatus, NodeCounts, PoolRuntime, RuntimeEvents, SweepRecord } from '../pool/pool-runtime.ts';
import type { RealtimeServer } from './socket-types.ts';

export const userRoom = (id: number) => `user:${id}`;

type SlotChange = SlotView & { since: number };
type Hold = (slot: SlotView) => boolean;

export interface Relay {
  /** Hold back slot changes that match until the returned function is called. */
  hold(matches: Hold): () => void;
  close(): void;
}

export function attachRelay(io: RealtimeServer, runtime: PoolRuntime, config: Pick<Config, 'publicHost' | 'types'>, ready: () => boolean): Relay {
  /** Who held each slot when we last looked, to tell the holder when it is gone. */
  const holders = new Map<string, { id: number; userId: number }>();
  let countsTimer: NodeJS.Timeout | null = null;
  const scheduleCounts = () => {
    if (countsTimer) return;
    countsTimer = setTimeout(() => {
      countsTimer = null;
      if (ready()) io.to('users').emit('pool:counts', runtime.counts());
    }, 100);
  };

  const send = (slot: SlotChange) => {
    const previous = holders.get(slot.name);
    const current = slot.assignment && slot.assignment.id > 0 ? slot.assignment : null;
    if (previous && previous.id !== current?.id && runtime.slotOfAssignment(previous.id) === undefined) {
      io.to(userRoom(previous.userId)).emit('container:released', { id: previous.id, name: slot.name });
    }
    if (current) {
      holders.set(slot.name, { id: current.id, userId: current.userId });
      io.to(userRoom(current.userId)).emit('container:updated', liveContainer(slot, config));
    } else holders.delete(slot.name);
    io.to('admins').emit('slot:updated', adminSlot(slot, slot.since));
    scheduleCounts();
  };

  // ---- holding slot changes back ----
  const holds = new Set<Hold>();
  /** Held changes in arrival order, each with the holds still keeping it. */
  const queue: Array<{ name: string; send: () => void; by: Set<Hold> }> = [];
  /** Send now, or queue behind the holds that match and behind this slot's earlier held changes. */
  const relay = (name: string, by: Set<Hold>, sendIt: () => void) => {
    for (const held of queue) if (held.name === name) for (const h of held.by) by.add(h);
    if (by.size === 0) sendIt();
    else queue.push({ name, send: sendIt, by });
  };
  const onSlot = (slot: SlotChange) => relay(slot.name, new Set([...holds].filter((matches) => matches(slot))), () => send(slot));
  const flush = () => {
    for (let i = 0; i < queue.length; ) {
      const held = queue[i];
      if (held && held.by.size === 0) {
        queue.splice(i, 1);
        held.send();
      } else i += 1;
    }
  };
  const hold = (matches: Hold) => {
    holds.add(matches);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      holds.delete(matches);
      for (const held of queue) held.by.delete(matches);
      flush();
    };
  };

  const onRemoved = (name: string) => relay(name, new Set(), () => removed(name));
  const removed = (name: string) => {
    const previous = holders.get(name);
    holders.delete(name);
    if (previous && runtime.slotOfAssignment(previous.id) === undefined) {
      io.to(userRoom(previous.userId)).emit('container:released', { id: previous.id, name });
    }
    io.to('admins').emit('slot:removed', { name });
    scheduleCounts();
  };
  const onRecovery = (e: RuntimeEvents['recovery'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:recovered', { id: e.assignment.id, name: e.name, durationMs: e.durationMs, attempts: e.attempts });
  const onRestarted = (e: RuntimeEvents['restarted'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:restarted', { id: e.assignment.id, name: e.name, kind: e.kind, durationMs: e.durationMs });
  const onMoved = (e: RuntimeEvents['moved'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:moved', { id: e.assignment.id, from: e.from, to: e.to });
  // The supervisor's reason (Docker's words) goes to the audit log and the server log, not to the holder.
  const onStranded = (e: RuntimeEvents['stranded'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:stranded', { id: e.assignment.id, name: e.name, message: 'stopped and could not be rebuilt or moved yet; Pooldeck keeps trying and tells you when it is back' });
  const onExpiring = (e: RuntimeEvents['expiring'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:expiring', { id: e.assignment.id, name: e.name, reason: e.reason, deadline: e.deadline });
  const onExpired = (e: RuntimeEvents['expired'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:expired', { id: e.assignment.id, name: e.name, reason: e.reason });
  const onSweep = (s: SweepRecord) => io.to('admins').emit('monitor:sweep', sweepView(s));
  const onMonitor = (m: MonitorStatus) => io.to('admins').emit('monitor:status', monitorView(m));
  const onNodes = (nodes: NodeCounts[]) => io.to('admins').emit('node:list', nodes.map(nodeView));

  runtime.on('slot', onSlot);
  runtime.on('slot.removed', onRemoved);
  runtime.on('recovery', onRecovery);
  runtime.on('restarted', onRestarted);
  runtime.on('moved', onMoved);
  runtime.on('stranded', onStranded);
  runtime.on('expiring', onExpiring);
  runtime.on('expired', onExpired);
  runtime.on('sweep', onSweep);
  runtime.on('monitor', onMonitor);
  runtime.on('nodes', onNodes);

  return {
    hold,
    close() {
      if (countsTimer) clearTimeout(countsTimer);
      runtime.off('slot', onSlot);
      runtime.off('slot.removed', onRemoved);
      runtime.off('recovery', onRecovery);
      runtime.off('restarted', onRestarted);
      runtime.off('moved', onMoved);
      runtime.off('stranded', onStranded);
      runtime.off('expiring', onExpiring);
      runtime.off('expired', onExpired);
      runtime.off('sweep', onSweep);
      runtime.off('monitor', onMonitor);
      runtime.off('nodes', onNodes);
    },
  };
}
