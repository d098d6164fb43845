/**
 * Pure pool policy: when an assignment expires (idle too long, or past its maximum lifetime),
 * when its holder is warned, and how many warm containers an elastic type should add or retire.
 */
import { slotSpec } from './pool.logic.ts';
import type { Assignment, SlotSpec, SlotView, TypeRange } from './types.ts';
import type { Reservation } from './pool.logic.ts';

export interface ExpiryPolicy {
  /** Release an assignment after this long without activity; 0 = never. */
  idleTtlMs: number;
  /** Release an assignment this long after hand-out; 0 = never. */
  maxLifetimeMs: number;
  /** Warn the holder this long before either deadline. */
  warnMs: number;
}

export interface ElasticPolicy {
  /** Keep at least this many containers of the type warm (available). */
  minWarm: number;
  /** Never grow the type beyond this many containers. */
  max: number;
}

import type { ExpiryReason } from '../shared/pool.ts';
export type { ExpiryReason };

export interface ExpiryNotice {
  name: string;
  assignment: Assignment;
  reason: ExpiryReason;
  deadline: number;
}

/** The earliest deadline of an assignment, or null when no policy applies. */
export function deadlineOf(assignment: Assignment, lastActivity: number | undefined, policy: ExpiryPolicy): { at: number; reason: ExpiryReason } | null {
  const candidates: Array<{ at: number; reason: ExpiryReason }> = [];
  if (policy.idleTtlMs > 0) candidates.push({ at: Math.max(lastActivity ?? 0, assignment.createdAt) + policy.idleTtlMs, reason: 'idle' });
  if (policy.maxLifetimeMs > 0) candidates.push({ at: assignment.createdAt + policy.maxLifetimeMs, reason: 'lifetime' });
  candidates.sort((a, b) => a.at - b.at);
  return candidates[0] ?? null;
}

export function planExpiry(
  slots: Record<string, SlotView>,
  activity: Record<number, number>,
  warned: Record<number, number>,
  policy: ExpiryPolicy,
  now: number,
): { expire: ExpiryNotice[]; warn: ExpiryNotice[] } {
  const expire: ExpiryNotice[] = [];
  const warn: ExpiryNotice[] = [];
  for (const slot of Object.values(slots)) {
    const a = slot.assignment;
    if (!a || a.id === 0 || slot.state !== 'assigned' || slot.phase !== 'serving') continue;
    const deadline = deadlineOf(a, activity[a.id], policy);
    if (!deadline) continue;
    const notice = { name: slot.name, assignment: a, reason: deadline.reason, deadline: deadline.at };
    if (now >= deadline.at) expire.push(notice);
    else if (now >= deadline.at - policy.warnMs && warned[a.id] !== deadline.at) warn.push(notice);
  }
  return { expire, warn };
}

export interface RefillPlan {
  add: SlotSpec[];
  retire: string[];
}

/**
 * Elastic types: add slots (lowest free indexes, within the port range and `max`) while fewer
 * than `minWarm` are warm or on their way; retire surplus warm slots above the base size.
 * Retiring slots do not count, but their indexes stay taken until they are retired.
 */
export function planRefill(
  slots: Record<string, SlotView>,
  reserved: Record<string, Reservation>,
  elastic: Record<string, ElasticPolicy>,
  baseSizes: Record<string, number>,
  ranges: Record<string, TypeRange>,
): RefillPlan {
  const add: SlotSpec[] = [];
  const retire: string[] = [];
  for (const [type, policy] of Object.entries(elastic)) {
    const range = ranges[type];
    if (!range) continue;
    const all = Object.values(slots).filter((s) => s.type === type);
    const ofType = all.filter((s) => s.phase !== 'retiring');
    const warm = ofType.filter((s) => !s.assignment && !reserved[s.name] && (s.state === 'available' || s.state === 'stopped')).length;
    const capacity = Math.min(policy.max, range.portEnd - range.portStart + 1);
    const need = Math.min(policy.minWarm - warm, capacity - ofType.length);
    if (need > 0) {
      // A retiring slot's index stays in use until it is retired.
      const used = new Set(all.map((s) => s.index));
      for (let index = 0, added = 0; added < need && range.portStart + index <= range.portEnd; index++) {
        if (!used.has(index)) {
          add.push(slotSpec(type, index, range));
          added++;
        }
      }
    } else if (warm > policy.minWarm && ofType.length > (baseSizes[type] ?? 0)) {
      const surplus = Math.min(warm - policy.minWarm, ofType.length - (baseSizes[type] ?? 0));
      const removable = ofType
        .filter((s) => !s.assignment && !reserved[s.name] && s.state === 'available' && s.phase === 'ready')
        .sort((a, b) => b.index - a.index);
      retire.push(...removable.slice(0, surplus).map((s) => s.name));
    }
  }
  return { add, retire };
}
