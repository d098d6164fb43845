/**
 * Into the container over socket.io: the web terminal (terminal.ts) and the log and stats
 * streams (container-streams.ts). This module wires them onto the socket server and owns what
 * they share (sessions.ts):
 *
 * - Who: every open/subscribe checks the socket's credentials again (not the handshake's
 *   word from minutes ago) and refuses unless the caller holds the container or is an admin.
 *   A refusal is an ack error; nobody learns whether someone else's container exists.
 * - What is open: each terminal or stream is a `Session` bound to one socket, one slot, one
 *   assignment and one Docker container. It ends when its socket disconnects, when the slot
 *   changes hands (release) or gets another container (recovery), or when the server stops.
 * - Handles are looked up among the calling socket's own sessions only.
 * - How: through the `ContainerConsole` the composition root (runtime/server.ts) passes in;
 *   without one (an engine that cannot open consoles) every open is refused with a sentence.
 */
import type { SlotView } from '../../machines/types.ts';
import type { ContainerConsole } from '../docker/console.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { RequestError } from '../http/request-error.ts';
import { registerStreams } from './container-streams.ts';
import type { HandlerOptions } from './handler.ts';
import { Sessions, type AccessContext } from './sessions.ts';
import type { Authenticate, RealtimeServer } from './socket-types.ts';
import { registerTerminal } from './terminal.ts';

export interface ContainerAccessDeps {
  runtime: PoolRuntime;
  log: Logger;
  authenticate: Authenticate;
  /** Terminals, logs and stats go through this; null refuses them all (501). */
  console: ContainerConsole | null;
  /** How handlers are registered (the socket server's options, minus the per-command re-check). */
  handlers: HandlerOptions;
  /** At most this many terminals per socket (default 4). */
  terminalsPerSocket?: number;
  /** At most this many log and stats streams per socket (default 8). */
  streamsPerSocket?: number;
}

export function attachContainerAccess(io: RealtimeServer, deps: ContainerAccessDeps): { close(): Promise<void> } {
  const { runtime, log, authenticate, console } = deps;
  const sessions = new Sessions();
  /** Opens in progress per socket and kind, counted against the limits. */
  const reserved = new Map<string, number>();

  const ctx: AccessContext = {
    runtime,
    config: runtime.deps.config,
    sessions,
    log,
    terminalsPerSocket: deps.terminalsPerSocket ?? 4,
    streamsPerSocket: deps.streamsPerSocket ?? 8,
    handlers: deps.handlers,
    async authorize(socket, id) {
      const user = await authenticate(socket.data.credentials);
      if (!user) throw new RequestError(401, 'your session has ended; log in again');
      socket.data.user = { id: user.id, username: user.username, isAdmin: user.isAdmin };
      if (!runtime.actor) throw new RequestError(503, 'the pool is still starting; try again in a moment');
      const slot = runtime.slotOfAssignment(id);
      const assignment = slot?.assignment;
      if (!slot || !assignment || (assignment.userId !== user.id && !user.isAdmin)) throw new RequestError(404, 'you have no container with that id');
      if (slot.state !== 'assigned' || !slot.containerId) throw new RequestError(409, `${slot.name} is not running right now (${slot.state}${slot.phase ? `, ${slot.phase}` : ''}); try again when it is`);
      if (!console) throw new RequestError(501, 'this server runs without Docker access for terminals, logs and stats');
      if (assignment.userId === user.id) runtime.touch(id);
      return { slot, assignmentId: assignment.id, holderId: assignment.userId, containerId: slot.containerId, user, console };
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

  io.on('connection', (socket) => {
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
