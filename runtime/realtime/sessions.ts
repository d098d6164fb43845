/**
 * What the terminal and the log/stats streams share (container-access.ts wires them): the open
 * sessions of every socket, the container a caller may enter, and the context their handlers run
 * in. Types and one small class; it imports no other realtime module but the leaves.
 */
import type { SlotView } from '../../machines/types.ts';
import type { Config } from '../config.ts';
import type { ContainerConsole } from '../docker/console.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import type { HandlerOptions } from './handler.ts';
import type { RealtimeSocket, RealtimeUser } from './socket-types.ts';
import { InputError } from './validate.ts';

export type SessionKind = 'terminal' | 'logs' | 'stats';

export interface Session {
  handle: string;
  kind: SessionKind;
  socketId: string;
  slot: string;
  assignmentId: number;
  containerId: string;
  /** Ends the session and tells the client why; idempotent. */
  end(reason: string): Promise<void>;
}

/** The container a caller may enter, found by assignment id, and the console to enter it with. */
export interface Target {
  slot: SlotView;
  assignmentId: number;
  /** Who holds the container (not necessarily the caller: admins may enter any). */
  holderId: number;
  containerId: string;
  user: RealtimeUser;
  console: ContainerConsole;
}

export class Sessions {
  private readonly all = new Map<string, Session>();

  add(session: Session): void {
    this.all.set(session.handle, session);
  }

  delete(handle: string): void {
    this.all.delete(handle);
  }

  /** The socket's own session with this handle and kind, or an InputError. */
  mine(socket: { id: string }, handle: string, kind: SessionKind): Session {
    const session = this.all.get(handle);
    if (!session || session.socketId !== socket.id || session.kind !== kind) throw new InputError(`no open ${kind} with that handle`);
    return session;
  }

  count(socketId: string, kinds: SessionKind[]): number {
    let n = 0;
    for (const s of this.all.values()) if (s.socketId === socketId && kinds.includes(s.kind)) n += 1;
    return n;
  }

  where(predicate: (s: Session) => boolean): Session[] {
    return [...this.all.values()].filter(predicate);
  }
}

export interface AccessContext {
  runtime: PoolRuntime;
  config: Pick<Config, 'types' | 'limits'>;
  sessions: Sessions;
  log: Logger;
  /** At most this many terminals per socket. */
  terminalsPerSocket: number;
  /** At most this many log and stats streams per socket. */
  streamsPerSocket: number;
  /** How handlers are registered (see handler.ts). */
  handlers: HandlerOptions;
  /** Check the caller now and find the container; throws RequestError with a sentence. */
  authorize(socket: RealtimeSocket, id: number): Promise<Target>;
  /**
   * Refuse when the socket already has `max` sessions of these kinds; otherwise hold a place
   * for one more until the returned function is called (so concurrent opens cannot overshoot).
   */
  reserve(socket: RealtimeSocket, kinds: SessionKind[], max: number, what: string): () => void;
  /** Run a Docker call; its failure is logged and answered with `sentence`. */
  docker<T>(sentence: string, fn: () => Promise<T>): Promise<T>;
}
