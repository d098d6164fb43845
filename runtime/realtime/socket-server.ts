/**
 * The live side of Pooldeck: socket.io on the HTTP server. The contract is `shared/events.ts`.
 * This module authenticates sockets, places them in rooms and wires the parts:
 *
 * - commands.ts: the pool's commands (launch, release, list, monitor, inspector), each a typed
 *   handler (handler.ts: validate → act → acknowledge → broadcast).
 * - relay.ts: what the PoolRuntime emits, broadcast to the rooms allowed to see it.
 * - container-access.ts: terminals, logs and stats inside a container.
 * - inspector.ts: the actors' states for admins who asked.
 * - ../audit/socket-audit.ts: commands that change something, in the audit log like over HTTP.
 *
 * Who: a session cookie (browsers; the Origin must be this server) or an API token
 * (`auth: { token }` or `Authorization: Bearer …`), checked in `io.use`, re-checked before
 * every command and every `recheckMs` so logged-out or deleted users are disconnected.
 * Rooms: `user:<id>` gets that user's containers only; `users` gets pool counts; `admins`
 * gets every slot and the monitor; `inspect` (admins who asked) gets actor changes.
 */
import type { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { containerMachine } from '../../machines/container.machine.ts';
import { poolMachine } from '../../machines/pool.machine.ts';
import { SOCKET_PATH } from '../../shared/events.ts';
import type { AccountEvents } from '../accounts/accounts.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { auditSocketCalls } from '../audit/socket-audit.ts';
import type { Config } from '../config.ts';
import type { ContainerConsole } from '../docker/console.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime, RuntimeEvents } from '../pool/pool-runtime.ts';
import { registerCommands } from './commands.ts';
import { attachContainerAccess } from './container-access.ts';
import type { HandlerOptions } from './handler.ts';
import { Inspector } from './inspector.ts';
import { attachRelay, userRoom } from './relay.ts';
import type { Authenticate, Credentials, RealtimeServer, RealtimeSocket, RealtimeUser } from './socket-types.ts';

export type { Credentials, RealtimeUser };

export interface RealtimeDeps {
  runtime: PoolRuntime;
  config: Pick<Config, 'publicHost' | 'types'> & Partial<Pick<Config, 'trustProxy'>>;
  log: Logger;
  authenticate: Authenticate;
  /** Terminals, logs and stats go through this (runtime/server.ts composes it); null refuses them. */
  console: ContainerConsole | null;
  /** False while the pool is starting: commands are refused with a sentence. */
  ready?: () => boolean;
  /** Where commands that change something are recorded (socket-audit.ts); none when absent. */
  audit?: AuditLog;
  /** How often inspector batches go out (ms). */
  inspectEveryMs?: number;
  /** How often every socket's credentials are checked again (ms); a logged-out or deleted user is disconnected within this time. */
  recheckMs?: number;
  /** How long a check of a socket's credentials is trusted before a command checks again (ms). */
  recheckCacheMs?: number;
  /** At most this many sockets per user at once (default 20): each may hold terminals and streams. */
  socketsPerUser?: number;
  /** Told when some credentials of a user stopped working: that user's sockets are checked at once. */
  revocations?: Pick<EventEmitter<AccountEvents>, 'on' | 'off'>;
}

export interface Realtime {
  io: RealtimeServer;
  inspector: Inspector;
  close(): Promise<void>;
}

function credentialsOf(handshake: RealtimeSocket['handshake']): Credentials {
  const token = (handshake.auth as { token?: unknown } | undefined)?.token;
  if (typeof token === 'string' && token) return { authorization: `Bearer ${token}` };
  const authorization = handshake.headers.authorization;
  if (authorization) return { authorization };
  return { cookie: handshake.headers.cookie };
}

/**
 * A browser sends Origin with every cross-site request; a cookie-authenticated socket must come
 * from here. Behind a trusted proxy (POOLDECK_TRUST_PROXY) "here" is X-Forwarded-Host, as for HTTP.
 */
function sameOrigin(headers: RealtimeSocket['handshake']['headers'], trustProxy: unknown): boolean {
  const origin = headers.origin;
  if (!origin) return true;
  const forwarded = trustProxy ? (String(headers['x-forwarded-host'] ?? '').split(',')[0] ?? '').trim() : '';
  const host = (forwarded || String(headers.host ?? '')).toLowerCase();
  try {
    return new URL(origin).host.toLowerCase() === host;
  } catch {
    return false;
  }
}

export function attachRealtime(httpServer: HttpServer, deps: RealtimeDeps): Realtime {
  const { runtime, config, log, authenticate } = deps;
  const recheckCacheMs = deps.recheckCacheMs ?? 5_000;
  const socketsPerUser = deps.socketsPerUser ?? 20;
  const io: RealtimeServer = new Server(httpServer, {
    path: SOCKET_PATH,
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
  const inspector = new Inspector({ machines: [poolMachine, containerMachine] });
  if (runtime.actor) inspector.adopt(runtime.actor);
  const ready = () => (deps.ready ? deps.ready() : true) && runtime.actor !== undefined;
  const relay = attachRelay(io, runtime, config, ready);
  const access = attachContainerAccess(io, { runtime, log, authenticate, console: deps.console, handlers: { log } });

  // ---- authentication ----

  io.use(async (socket, next) => {
    const credentials = credentialsOf(socket.handshake);
    if (credentials.cookie !== undefined && !sameOrigin(socket.handshake.headers, config.trustProxy)) {
      log.warn('socket.refused', { reason: 'cross-origin', origin: socket.handshake.headers.origin });
      return next(new Error('cross-site connection refused'));
    }
    try {
      const user = await authenticate(credentials);
      if (!user) return next(new Error(credentials.authorization ? 'the API token is not valid' : 'not logged in'));
      const open = io.sockets.adapter.rooms.get(userRoom(user.id))?.size ?? 0;
      if (open >= socketsPerUser) {
        log.warn('socket.refused', { reason: 'too-many', user: user.username, open });
        return next(new Error(`at most ${socketsPerUser} connections at once per account; close a tab or a script first`));
      }
      socket.data = { user: { id: user.id, username: user.username, isAdmin: user.isAdmin }, credentials, checkedAt: Date.now() };
      next();
    } catch (error) {
      log.error('socket.auth_failed', { error: String(error) });
      next(new Error('could not check your credentials; try again'));
    }
  });

  function endSession(socket: RealtimeSocket, reason: string) {
    socket.emit('session:ended', { reason });
    socket.disconnect(true);
  }

  function placeInRooms(socket: RealtimeSocket) {
    const { user } = socket.data;
    void socket.join([userRoom(user.id), 'users']);
    if (user.isAdmin) void socket.join('admins');
    else {
      void socket.leave('admins');
      void socket.leave('inspect');
    }
  }

  /** The socket's user as of now (cached `recheckCacheMs`), or null when the credentials stopped working. */
  async function recheck(socket: RealtimeSocket, force = false): Promise<RealtimeUser | null> {
    if (!force && Date.now() - socket.data.checkedAt < recheckCacheMs) return socket.data.user;
    const user = await authenticate(socket.data.credentials);
    if (!user) return null;
    const wasAdmin = socket.data.user.isAdmin;
    socket.data.user = { id: user.id, username: user.username, isAdmin: user.isAdmin };
    socket.data.checkedAt = Date.now();
    if (wasAdmin !== user.isAdmin) placeInRooms(socket);
    return socket.data.user;
  }

  const handlers: HandlerOptions = {
    log,
    hold: relay.hold,
    authorize: (socket) => recheck(socket),
    sessionEnded: (socket) => endSession(socket, 'credentials no longer valid'),
    ...(deps.audit ? { audit: auditSocketCalls(deps.audit, config.trustProxy) } : {}),
  };

  io.on('connection', (socket) => {
    placeInRooms(socket);
    log.debug('socket.connected', { user: socket.data.user.username, admin: socket.data.user.isAdmin, via: socket.data.credentials.authorization ? 'token' : 'session' });
    registerCommands(socket, { runtime, config, log, inspector, handlers, ready });
  });

  const onInspect = (e: RuntimeEvents['inspect'][0]) => inspector.observe(e);
  runtime.on('inspect', onInspect);
  const inspectTimer = setInterval(() => {
    try {
      if (!io.sockets.adapter.rooms.get('inspect')?.size) return inspector.discardPending();
      const batch = inspector.flush();
      if (batch) io.to('inspect').emit('inspect:event', batch);
    } catch (error) {
      log.error('inspect.flush_failed', { error: error instanceof Error ? error.stack : String(error) });
    }
  }, deps.inspectEveryMs ?? 200);
  inspectTimer.unref();

  /** Check these sockets' credentials now; end the ones that stopped working. */
  function recheckNow(sockets: Iterable<RealtimeSocket>) {
    for (const socket of sockets) {
      recheck(socket, true)
        .then((user) => {
          if (!user) endSession(socket, 'credentials no longer valid');
        })
        .catch((error) => log.warn('socket.recheck_failed', { error: String(error) }));
    }
  }
  const recheckTimer = setInterval(() => recheckNow(io.sockets.sockets.values()), deps.recheckMs ?? 15_000);
  recheckTimer.unref();
  const onRevoked = (userId: number) => {
    const room = io.sockets.adapter.rooms.get(userRoom(userId));
    if (!room) return;
    recheckNow([...room].flatMap((id) => io.sockets.sockets.get(id) ?? []));
  };
  deps.revocations?.on('revoked', onRevoked);

  return {
    io,
    inspector,
    async close() {
      clearInterval(inspectTimer);
      clearInterval(recheckTimer);
      deps.revocations?.off('revoked', onRevoked);
      await access.close();
      relay.close();
      runtime.off('inspect', onInspect);
      // Not io.close(): that also closes the HTTP server, which its owner does.
      io.disconnectSockets(true);
      io.engine.close();
    },
  };
}
