/**
 * A handle-based server stream (`logs:*`, `stats:*`) tied to a component's lifetime: messages for
 * the current handle go to `onData`, its end (or a lost connection) to `onEnd`; the returned
 * function stops listening and unsubscribes the handle still open.
 */
import { connectSocket } from './api.ts';

type Kind = 'logs' | 'stats';
const DATA_EVENT: Record<Kind, string> = { logs: 'logs:data', stats: 'stats:sample' };

/** The few socket calls used here, by name (the typed socket would need one branch per kind). */
interface LooseSocket {
  on(event: string, listener: (payload: never) => void): unknown;
  off(event: string, listener: (payload: never) => void): unknown;
  emit(event: string, payload: { handle: string }, ack: () => void): unknown;
}

export function followStream<T extends { handle: string }>(
  kind: Kind,
  currentHandle: () => string | null,
  onData: (payload: T) => void,
  onEnd: (reason: string) => void,
): () => void {
  const socket = connectSocket() as unknown as LooseSocket;
  const data = (payload: T) => {
    if (payload.handle === currentHandle()) onData(payload);
  };
  const end = (payload: { handle: string; reason: string }) => {
    if (payload.handle === currentHandle()) onEnd(payload.reason);
  };
  const lost = () => {
    if (currentHandle()) onEnd('the connection to the server was lost');
  };
  socket.on(DATA_EVENT[kind], data);
  socket.on(`${kind}:end`, end);
  socket.on('disconnect', lost);
  return () => {
    socket.off(DATA_EVENT[kind], data);
    socket.off(`${kind}:end`, end);
    socket.off('disconnect', lost);
    const open = currentHandle();
    if (open) socket.emit(`${kind}:unsubscribe`, { handle: open }, () => undefined);
  };
}
