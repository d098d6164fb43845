/**
 * Into the container over socket.io: the web terminal (terminal.ts) and the log and stats
 * streams (container-streams.ts). This module wires them onto the socket server and owns what
 * they share:
 *
 * - Who: every open/subscribe checks the socket's credentials again (not the handshake's
 *   word from minutes ago) and refuses unless the caller holds the container or is an admin.
 *   A refusal is an ack error; nobody learns whether someone else's container exists.
 * - What is open: each terminal or stream is a `Session` bound to one socket, one slot, one
 *   assignment and one Docker container. It ends when its socket disconnects, when the slot
 *   changes hands (release) or gets another container (recovery), or when the server stops.
 * - Handles are looked up among the calling socket's own sessions only.
 */
import type { Server, Socket } from 'socket.io';
import type { SlotView } from '../../machines/types.ts';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.ts';
import type { ContainerConsole } from '../docker/console.ts';
import { DockerodeConsole } from '../docker/docker-console.ts';
import { DockerodeEngine } from '../docker/dockerode-engine.ts';
import { SwarmConsole } from '../docker/swarm-console.ts';
import { SwarmEngine } from '../docker/swarm-engine.ts';
import type { Logger } from '../logger.ts';
import { RequestError, type PoolRuntime } from '../pool/pool-runtime.ts';
import { registerStreams } from './container-streams.ts';
import type { Credentials, RealtimeUser } from './socket-server.ts';
import { registerTerminal } from './terminal.ts';
import { InputError, record, wholeNumber } from './validate.ts';
export { InputError, record, wholeNumber };

export interface ContainerAccessDeps {
  runtime: PoolRuntime;
  log: Logger;
  authenticate: (credentials: Credentials) => Promise<RealtimeUser | null>;
  /** Defaults to Docker through the runtime's engine, when that is a DockerodeEngine. */
  console?: ContainerConsole;
  /** At most this many terminals per socket (default 4). */
  terminalsPerSocket?: number;
  /** At most this many log and stats streams per socket (default 8). */
  streamsPerSocket?: number;
}

export type AccessSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { user: RealtimeUser; credentials: Credentials }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AccessServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, any>;

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

/** The container a caller may enter, found by assignment id. */
export interface Target {
  slot: SlotView;
  containerId: string;
  user: RealtimeUser;
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
  mine(socket: { id: string }, handle: unknown, kind: SessionKind): Session {
    if (typeof handle !== 'string' || handle.length > 64) throw new InputError('handle must be the string the open/subscribe ack returned');
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
  deps: ContainerAccessDeps;
  console: ContainerConsole | null;
  sessions: Sessions;
  log: Logger;
  /** Check the caller now and find the container; throws RequestError with a sentence. */
  authorize(socket: AccessSocket, id: unknown): Promise<Target>;
  /** Register a handler: validate → act → acknowledge, errors sanitised. */
  on<R>(socket: AccessSocket, event: keyof ClientToServerEvents, run: (payload: Record<string, unknown>) => Promise<R> | R): void;
  /**
   * Refuse when the socket already has `max` sessions of these kinds; otherwise hold a place
   * for one more until the returned function is called (so concurrent opens cannot overshoot).
   */
  reserve(socket: AccessSocket, kinds: SessionKind[], max: number, what: string): () => void;
  /** Run a Docker call; its failure is logged and answered with `sentence`. */
  docker<T>(sentence: string, fn: () => Promise<T>): Promise<T>;
}

function consoleOf(deps: ContainerAccessDeps): ContainerConsole | null {
  if (deps.console) return deps.console;
  const engine = deps.runtime.deps.engine;
  if (engine instanceof SwarmEngine) return new SwarmConsole(engine);
  return engine instanceof DockerodeEngine ? new DockerodeConsole(engine.docker) : null;
}

export function attachContainerAccess(io: AccessServer, deps: ContainerAccessDeps): { close(): Promise<void> } {
  const { runtime, log, authenticate } = deps;
  const sessions = new Sessions();
  const console = consoleOf(deps);
  /** Opens in progress per socket and kind, counted against the limits. */
  const reserved = new Map<string, number>();

  function publicMessage(event: string, error: unknown): string {
    if (error instanceof RequestError || error instanceof InputError) return error.message;
    log.error('socket.command_failed', { event, error: error instanceof Error ? error.stack : String(error) });
    return 'internal error; the server log has the details';
  }

  const ctx: AccessContext = {
    deps,
    console,
    sessions,
    log,
    async authorize(socket, rawId) {
      const id = wholeNumber(rawId, 'id', 1, Number.MAX_SAFE_INTEGER);
      const user = await authenticate(socket.data.credentials);
      if (!user) throw new RequestError(401, 'your session has ended; log in again');
      socket.data.user = { id: user.id, username: user.username, isAdmin: user.isAdmin };
      if (!runtime.actor) throw new RequestError(503, 'the pool is still starting; try again in a moment');
      const slot = runtime.slotOfAssignment(id);
      if (!slot || !slot.assignment || (slot.assignment.userId !== user.id && !user.isAdmin)) throw new RequestError(404, 'you have no container with that id');
      if (slot.state !== 'assigned' || !slot.containerId) throw new RequestError(409, `${slot.name} is not running right now (${slot.state}${slot.phase ? `, ${slot.phase}` : ''}); try again when it is`);
      if (!console) throw new RequestError(501, 'this server runs without Docker access for terminals, logs and stats');
      if (slot.assignment.userId === user.id) runtime.touch(id);
      return { slot, containerId: slot.containerId, user };
    },
    on(socket, event, run) {
      (socket as unknown as { on(e: string, fn: (...args: unknown[]) => void): void }).on(event, async (...args: unknown[]) => {
        const ack = typeof args.at(-1) === 'function' ? (args.pop() as (response: Ack<unknown>) => void) : null;
        const reply = (response: Ack<unknown>) => {
          if (!ack) return;
          try {
            ack(response);
          } catch (error) {
            log.warn('socket.ack_failed', { event, error: String(error) });
          }
        };
        try {
          reply({ data: await run(record(args[0])) });
        } catch (error) {
          reply({ error: publicMessage(event, error) });
        }
      });
    },
    reserve(socket, kinds, max, what) {
      const key = `${socket.id}:${kinds.join(',')}`;
      const held = reserved.get(key) ?? 0;
      if (sessions.count(socket.id, kinds) + held >= max) throw new RequestError(429, `at most ${max} ${what} at once per connection; close one first`);
      reserved.set(key, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (reserved.get(key) ?? 1) - 1;
        if (left > 0) reserved.set(key, left);
        else reserved.delete(key);
      };
    },
    async docker(sentence, fn) {
      try {
        return await fn();
      } catch (error) {
        if (error instanceof RequestError) throw error;
        log.warn('container_access.docker_failed', { sentence, error: error instanceof Error ? error.message : String(error) });
        throw new RequestError(502, sentence);
      }
    },
  };

  io.on('connection', (raw) => {
    const socket = raw as unknown as AccessSocket;
    registerTerminal(socket, ctx);
    registerStreams(socket, ctx);
    socket.on('disconnect', () => {
      for (const s of sessions.where((s) => s.socketId === socket.id)) void s.end('the connection closed');
    });
  });

  const onSlot = (slot: SlotView) => {
    for (const s of sessions.where((s) => s.slot === slot.name)) {
      if (slot.assignment?.id !== s.assignmentId) void s.end('the container was released');
      else if (slot.containerId !== s.containerId) void s.end('the container stopped and was rebuilt; open it again');
    }
  };
  const onRemoved = (name: string) => {
    for (const s of sessions.where((s) => s.slot === name)) void s.end('the container was removed from the pool');
  };
  runtime.on('slot', onSlot);
  runtime.on('slot.removed', onRemoved);

  return {
    async close() {
      runtime.off('slot', onSlot);
      runtime.off('slot.removed', onRemoved);
      await Promise.all(sessions.where(() => true).map((s) => s.end('the server is stopping')));
    },
  };
}
