/**
 * The live side of Pooldeck: socket.io on the HTTP server. It relays what the PoolRuntime
 * emits to the people allowed to see it and takes commands (launch, release, list, monitor
 * control) with an acknowledgement each. The contract is `shared/events.ts`.
 *
 * - Who: a session cookie (browsers; the Origin must be this server) or an API token
 *   (`auth: { token }` or `Authorization: Bearer …`), checked in `io.use`, re-checked before
 *   every command and every `recheckMs` so logged-out or deleted users are disconnected.
 * - Rooms: `user:<id>` gets that user's containers only; `users` gets pool counts; `admins`
 *   gets every slot and the monitor; `inspect` (admins who asked) gets actor changes.
 * - Every command: validate → act → acknowledge; RequestErrors keep their sentence, anything
 *   else is logged and answered with a generic one.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { containerMachine } from '../../machines/container.machine.ts';
import { poolMachine } from '../../machines/pool.machine.ts';
import type { SlotView } from '../../machines/types.ts';
import {
  SOCKET_PATH,
  type Ack,
  type AdminSlot,
  type ClientToServerEvents,
  type LiveContainer,
  type MonitorView,
  type ServerToClientEvents,
  type SweepView,
} from '../../shared/events.ts';
import type { Config } from '../config.ts';
import { adminSlotView, containerView } from '../http/views.ts';
import type { Logger } from '../logger.ts';
import { RequestError, type MonitorStatus, type PoolRuntime, type RuntimeEvents, type SweepRecord } from '../pool/pool-runtime.ts';
import { Inspector } from './inspector.ts';
import { attachContainerAccess } from './container-access.ts';
import { InputError, parse } from './validate.ts';
export { InputError, parse };

export interface RealtimeUser {
  id: number;
  username: string;
  isAdmin: boolean;
}

export interface Credentials {
  cookie?: string;
  authorization?: string;
}

export interface RealtimeDeps {
  runtime: PoolRuntime;
  config: Pick<Config, 'publicHost' | 'types'> & Partial<Pick<Config, 'trustProxy'>>;
  log: Logger;
  authenticate: (credentials: Credentials) => Promise<RealtimeUser | null>;
  /** False while the pool is starting: commands are refused with a sentence. */
  ready?: () => boolean;
  /** How often inspector batches go out (ms). */
  inspectEveryMs?: number;
  /** How often every socket's credentials are checked again (ms); a logged-out or deleted user is disconnected within this time. */
  recheckMs?: number;
}

export interface Realtime {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  inspector: Inspector;
  close(): Promise<void>;
}

interface SocketData {
  user: RealtimeUser;
  credentials: Credentials;
  checkedAt: number;
}

type IoServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** A refusal caused by what the client sent; its message goes back as is. */

const RECHECK_CACHE_MS = 5_000;
const userRoom = (id: number) => `user:${id}`;
const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

// ---- views ----

export function liveContainer(slot: SlotView, config: RealtimeDeps['config']): LiveContainer {
  const view = containerView(slot, config);
  return { ...view, id: view.id ?? 0, created_at: view.created_at ?? '', error: slot.error };
}

export function adminSlot(slot: SlotView, since: number | null): AdminSlot {
  return { ...adminSlotView(slot, since), assigned_at: iso(slot.assignment?.createdAt) };
}

// The runtime's records already have the wire shape; these make the compiler keep them so.
const sweepView = (s: SweepRecord): SweepView => s;
const monitorView = (m: MonitorStatus): MonitorView => m;

function credentialsOf(handshake: IoSocket['handshake']): Credentials {
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
function sameOrigin(headers: IoSocket['handshake']['headers'], trustProxy: unknown): boolean {
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
  const io: IoServer = new Server(httpServer, {
    path: SOCKET_PATH,
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
  const inspector = new Inspector({ machines: [poolMachine, containerMachine] });
  // Terminal, logs and stats (runtime/realtime/container-access.ts).
  const containerAccess = attachContainerAccess(io, { runtime, log, authenticate });
  if (runtime.actor) inspector.adopt(runtime.actor);
  const ready = () => (deps.ready ? deps.ready() : true) && runtime.actor !== undefined;

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
      socket.data = { user: { id: user.id, username: user.username, isAdmin: user.isAdmin }, credentials, checkedAt: Date.now() };
      next();
    } catch (error) {
      log.error('socket.auth_failed', { error: String(error) });
      next(new Error('could not check your credentials; try again'));
    }
  });

  function endSession(socket: IoSocket, reason: string) {
    socket.emit('session:ended', { reason });
    socket.disconnect(true);
  }

  function placeInRooms(socket: IoSocket) {
    const { user } = socket.data;
    socket.join([userRoom(user.id), 'users']);
    if (user.isAdmin) socket.join('admins');
    else {
      socket.leave('admins');
      socket.leave('inspect');
    }
  }

  /** The socket's user as of now (cached a few seconds), or null when the credentials stopped working. */
  async function recheck(socket: IoSocket, force = false): Promise<RealtimeUser | null> {
    if (!force && Date.now() - socket.data.checkedAt < RECHECK_CACHE_MS) return socket.data.user;
    const user = await authenticate(socket.data.credentials);
    if (!user) return null;
    const wasAdmin = socket.data.user.isAdmin;
    socket.data.user = { id: user.id, username: user.username, isAdmin: user.isAdmin };
    socket.data.checkedAt = Date.now();
    if (wasAdmin !== user.isAdmin) placeInRooms(socket);
    return socket.data.user;
  }

  // ---- commands ----

  interface Command<I, R> {
    admin?: boolean;
    /** Needs the pool running (everything but subscriptions). */
    pool?: boolean;
    input: (raw: unknown) => I;
    run: (input: I, user: RealtimeUser, socket: IoSocket) => Promise<R> | R;
  }

  function publicMessage(event: string, error: unknown): string {
    if (error instanceof RequestError || error instanceof InputError) return error.message;
    log.error('socket.command_failed', { event, error: error instanceof Error ? error.stack : String(error) });
    return 'internal error; the server log has the details';
  }

  function command<I, R>(socket: IoSocket, event: keyof ClientToServerEvents, spec: Command<I, R>) {
    (socket as unknown as { on(event: string, fn: (...args: unknown[]) => void): void }).on(event, async (...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as (response: Ack<R>) => void) : null;
      if (!ack) {
        log.debug('socket.no_ack', { event });
        return;
      }
      const reply = (response: Ack<R>) => {
        try {
          ack(response);
        } catch (error) {
          log.warn('socket.ack_failed', { event, error: String(error) });
        }
      };
      try {
        const user = await recheck(socket);
        if (!user) {
          reply({ error: 'your session has ended; log in again' });
          endSession(socket, 'credentials no longer valid');
          return;
        }
        if (spec.admin && !user.isAdmin) throw new RequestError(403, 'only an admin may do this');
        const input = spec.input(args[0]);
        if (spec.pool !== false && !ready()) throw new RequestError(503, 'the pool is still starting; try again in a moment');
        reply({ data: await spec.run(input, user, socket) });
      } catch (error) {
        reply({ error: publicMessage(event, error) });
      }
    });
  }

  const mine = (user: RealtimeUser) =>
    runtime.slots().filter((s) => s.assignment && s.assignment.id > 0 && s.assignment.userId === user.id);

  io.on('connection', (socket) => {
    const { user } = socket.data;
    placeInRooms(socket);
    log.debug('socket.connected', { user: user.username, admin: user.isAdmin, via: socket.data.credentials.authorization ? 'token' : 'session' });

    command(socket, 'container:list', {
      input: parse.none,
      run: (_input, me) => mine(me).map((s) => liveContainer(s, config)),
    });
    command(socket, 'container:launch', {
      input: parse.launch,
      run: async ({ type }, me) => {
        const { slot, assignment } = await runtime.launch({ id: me.id, username: me.username }, type);
        return liveContainer({ ...slot, assignment }, config);
      },
    });
    command(socket, 'container:release', {
      input: parse.release,
      run: async ({ id }, me) => {
        const slot = runtime.slotOfAssignment(id);
        if (!slot || (slot.assignment!.userId !== me.id && !me.isAdmin)) throw new RequestError(404, 'you have no container with that id');
        await runtime.release(id);
        log.info('socket.released', { slot: slot.name, assignment: id, by: me.username });
        return { id, name: slot.name };
      },
    });
    command(socket, 'pool:counts', { input: parse.none, run: () => runtime.counts() });

    command(socket, 'slot:list', {
      admin: true,
      input: parse.none,
      run: () => runtime.slots().map((s) => adminSlot(s, runtime.sinceOf(s.name))),
    });
    command(socket, 'monitor:get', {
      admin: true,
      input: parse.none,
      run: () => ({ status: monitorView(runtime.monitor()), sweeps: runtime.recentSweeps(50).map(sweepView) }),
    });
    command(socket, 'monitor:run', { admin: true, input: parse.none, run: async () => sweepView(await runtime.runHealthCheck()) });
    command(socket, 'monitor:pause', { admin: true, input: parse.none, run: () => monitorView(runtime.pauseMonitor()) });
    command(socket, 'monitor:resume', { admin: true, input: parse.none, run: () => monitorView(runtime.resumeMonitor()) });
    command(socket, 'monitor:interval', {
      admin: true,
      input: parse.interval,
      run: ({ seconds }) => monitorView(runtime.setHealthInterval(seconds)),
    });
    command(socket, 'inspect:subscribe', {
      admin: true,
      pool: false,
      input: parse.none,
      run: (_input, _me, s) => {
        s.join('inspect');
        return inspector.snapshot();
      },
    });
    command(socket, 'inspect:unsubscribe', {
      pool: false,
      input: parse.none,
      run: (_input, _me, s) => {
        s.leave('inspect');
        return true as const;
      },
    });
  });

  // ---- relaying what the pool does ----

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

  const onSlot = (slot: SlotView & { since: number }) => {
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
  const onRemoved = (name: string) => {
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
  const onMoved = (e: RuntimeEvents['moved'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:moved', { id: e.assignment.id, from: e.from, to: e.to });
  const onStranded = (e: RuntimeEvents['stranded'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:stranded', { id: e.assignment.id, name: e.name, message: e.message });
  const onExpiring = (e: RuntimeEvents['expiring'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:expiring', { id: e.assignment.id, name: e.name, reason: e.reason, deadline: e.deadline });
  const onExpired = (e: RuntimeEvents['expired'][0]) =>
    io.to(userRoom(e.assignment.userId)).emit('container:expired', { id: e.assignment.id, name: e.name, reason: e.reason });
  const onSweep = (s: SweepRecord) => io.to('admins').emit('monitor:sweep', sweepView(s));
  const onMonitor = (m: MonitorStatus) => io.to('admins').emit('monitor:status', monitorView(m));
  const onInspect = (e: RuntimeEvents['inspect'][0]) => inspector.observe(e);

  runtime.on('slot', onSlot);
  runtime.on('slot.removed', onRemoved);
  runtime.on('recovery', onRecovery);
  runtime.on('moved', onMoved);
  runtime.on('stranded', onStranded);
  runtime.on('expiring', onExpiring);
  runtime.on('expired', onExpired);
  runtime.on('sweep', onSweep);
  runtime.on('monitor', onMonitor);
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

  const recheckTimer = setInterval(() => {
    for (const socket of io.sockets.sockets.values()) {
      recheck(socket, true)
        .then((user) => {
          if (!user) endSession(socket, 'credentials no longer valid');
        })
        .catch((error) => log.warn('socket.recheck_failed', { error: String(error) }));
    }
  }, deps.recheckMs ?? 15_000);
  recheckTimer.unref();

  return {
    io,
    inspector,
    async close() {
      clearInterval(inspectTimer);
      clearInterval(recheckTimer);
      await containerAccess.close();
      if (countsTimer) clearTimeout(countsTimer);
      runtime.off('slot', onSlot);
      runtime.off('slot.removed', onRemoved);
      runtime.off('recovery', onRecovery);
      runtime.off('moved', onMoved);
      runtime.off('stranded', onStranded);
      runtime.off('expiring', onExpiring);
      runtime.off('expired', onExpired);
      runtime.off('sweep', onSweep);
      runtime.off('monitor', onMonitor);
      runtime.off('inspect', onInspect);
      // Not io.close(): that also closes the HTTP server, which its owner does.
      io.disconnectSockets(true);
      io.engine.close();
    },
  };
}
