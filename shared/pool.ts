/**
 * The pool's vocabulary that the machines (machines/), the server (runtime/) and the browser
 * (ui/) all speak. Written once here; the others import it. No imports: the browser bundle,
 * the machines and the server can all use it.
 */

/** The four states the API, UI and database report for a slot. */
export type SlotState = 'available' | 'assigned' | 'failed' | 'stopped';
export const SLOT_STATES: readonly SlotState[] = ['available', 'assigned', 'failed', 'stopped'];

/** Why the pool takes a container back on its own: `idle` (unused too long) or `lifetime` (held too long). */
export type ExpiryReason = 'idle' | 'lifetime';

/**
 * An XState state value as one line, as the inspector shows it on both sides:
 * `{ assigned: 'serving' }` → `assigned.serving`; parallel regions joined by `, `.
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  return Object.entries(value as Record<string, unknown>)
    .map(([key, child]) => {
      const rest = stateText(child);
      return rest ? `${key}.${rest}` : key;
    })
    .join(', ');
}
