/**
 * Output to a socket.io client that reads slower than a container writes must not pile up in
 * the server's memory. A producer (a terminal's output, a followed log) is paused while the
 * socket has more than HIGH_WATER packets waiting to be sent, and resumed once they drained; the
 * container's own stream (Docker, and the kernel under it) holds the rest.
 */
import type { RealtimeSocket } from './socket-types.ts';

/** Packets a socket may have waiting before its producers are paused. */
export const HIGH_WATER = 32;

export interface Producer {
  pause(): void;
  resume(): void;
}

/** Call the returned function after each emit: it pauses `producer` when the socket is behind. */
export function pauseWhenBehind(socket: RealtimeSocket, producer: Producer, highWater = HIGH_WATER): () => void {
  const conn = socket.conn as unknown as { writeBuffer: unknown[]; once(event: 'drain', fn: () => void): void };
  let paused = false;
  return () => {
    if (paused || conn.writeBuffer.length <= highWater) return;
    paused = true;
    producer.pause();
    conn.once('drain', () => {
      paused = false;
      producer.resume();
    });
  };
}
