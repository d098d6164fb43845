/**
 * socket.io commands that change something are recorded like their HTTP twins: the same action
 * names, the same row (`recordAction`, actions.ts), with `via: socket` in the detail. The
 * dashboard launches and releases over the socket, and admins drive the monitor from it.
 * Read-only commands (lists, counts, subscriptions) and console traffic are not recorded.
 */
import type { CallOutcome, ClientEvent } from '../realtime/handler.ts';
import type { RealtimeSocket } from '../realtime/socket-types.ts';
import { recordAction } from './actions.ts';
import type { AuditLog } from './audit-log.ts';

interface SocketAction {
  action: string;
  /** The result as its HTTP twin answers it, where the row reads it from there. */
  answer?(result: unknown): unknown;
}

const SOCKET_ACTIONS: Partial<Record<ClientEvent, SocketAction>> = {
  // POST /api/containers answers `{ container }`: the target is the container's name.
  'container:launch': { action: 'container.launch', answer: (container) => ({ container }) },
  // DELETE /api/containers/:id: the target is the assignment id (an admin's release of someone else's notes its own).
  'container:release': { action: 'container.release' },
  'monitor:run': { action: 'admin.monitor.run' },
  'monitor:pause': { action: 'admin.monitor.pause' },
  'monitor:resume': { action: 'admin.monitor.resume' },
  'monitor:interval': { action: 'admin.monitor.interval' },
};

export function auditSocketCalls(audit: AuditLog, trustProxy: unknown = false): (outcome: CallOutcome) => void {
  return (outcome) => {
    const known = SOCKET_ACTIONS[outcome.event];
    if (!known) return;
    const { note, input } = outcome;
    recordAction(audit, {
      via: 'socket',
      user: outcome.user,
      action: note?.action ?? known.action,
      input,
      params: typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {},
      answer: outcome.ok && known.answer ? known.answer(outcome.answer) : outcome.answer,
      ok: outcome.ok,
      status: outcome.status,
      ip: clientAddress(outcome.socket.handshake, trustProxy),
      ...(note && note.target !== undefined ? { target: note.target } : {}),
      ...(note?.extra ? { extra: note.extra } : {}),
    });
  };
}

/**
 * The caller's address as HTTP rows have it: the peer, or behind a trusted proxy
 * (POOLDECK_TRUST_PROXY) the X-Forwarded-For hop that proxy vouches for — with a number of
 * hops, that many from the right; with `true`, the first; with a subnet list, the nearest.
 */
export function clientAddress(handshake: Pick<RealtimeSocket['handshake'], 'address' | 'headers'>, trustProxy: unknown): string | null {
  const peer = handshake.address || null;
  if (!trustProxy) return peer;
  const chain = String(handshake.headers['x-forwarded-for'] ?? '').split(',').map((hop) => hop.trim()).filter(Boolean);
  if (!chain.length) return peer;
  if (trustProxy === true) return chain[0]!;
  if (typeof trustProxy === 'number') return chain[Math.max(0, chain.length - trustProxy)] ?? peer;
  return chain.at(-1)!;
}
