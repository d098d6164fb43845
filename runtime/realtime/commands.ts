/**
 * The pool's commands over socket.io: a user's containers (list, launch, release), pool counts,
 * and for admins the slots, the Swarm's nodes, the health monitor and the inspector. Each is a typed handler
 * (handler.ts): the caller is re-checked, the payload validated, the pool asked, the caller
 * acknowledged, and only then are the slot changes the command caused relayed to others.
 */
import type { Config } from '../config.ts';
import { adminSlot, liveContainer, monitorView, nodeView, sweepView } from '../http/views.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { RequestError } from '../http/request-error.ts';
import { handle, type ClientEvent, type Handler, type HandlerOptions, type PayloadOf } from './handler.ts';
import type { Inspector } from './inspector.ts';
import type { RealtimeSocket, RealtimeUser } from './socket-types.ts';
import { parse } from './validate.ts';

export interface CommandContext {
  runtime: PoolRuntime;
  config: Pick<Config, 'publicHost' | 'types'>;
  log: Logger;
  inspector: Inspector;
  handlers: HandlerOptions;
  /** False while the pool is starting: pool commands are refused with a sentence. */
  ready(): boolean;
}

interface Rules {
  /** Admins only. */
  admin?: boolean;
  /** Needs the pool running (everything but the inspector subscriptions). */
  pool?: boolean;
}

export function registerCommands(socket: RealtimeSocket, ctx: CommandContext): void {
  const { runtime, config, log, inspector } = ctx;

  function command<E extends ClientEvent, I extends PayloadOf<E>>(event: E, rules: Rules, handler: Handler<E, I>): void {
    const options: HandlerOptions = {
      ...ctx.handlers,
      async authorize(s, e) {
        const user = ctx.handlers.authorize ? await ctx.handlers.authorize(s, e) : s.data.user;
        if (user && rules.admin && !user.isAdmin) throw new RequestError(403, 'only an admin may do this');
        return user;
      },
    };
    handle(socket, event, {
      validate: handler.validate,
      act(input, call) {
        if (rules.pool !== false && !ctx.ready()) throw new RequestError(503, 'the pool is still starting; try again in a moment');
        return handler.act(input, call);
      },
      broadcast: handler.broadcast,
    }, options);
  }

  const mine = (user: RealtimeUser) =>
    runtime.slots().filter((s) => s.assignment && s.assignment.id > 0 && s.assignment.userId === user.id);

  command('container:list', {}, {
    validate: parse.none,
    act: (_input, { user }) => mine(user).map((s) => liveContainer(s, config)),
  });
  command('container:launch', {}, {
    validate: parse.launch,
    async act({ type }, call) {
      const me = call.user;
      call.hold((slot) => slot.assignment?.userId === me.id);
      const { slot, assignment } = await runtime.launch({ id: me.id, username: me.username }, type);
      return liveContainer({ ...slot, assignment }, config);
    },
  });
  command('container:release', {}, {
    validate: parse.release,
    async act({ id }, call) {
      const me = call.user;
      const slot = runtime.slotOfAssignment(id);
      const holder = slot?.assignment?.userId;
      if (!slot || (holder !== me.id && !me.isAdmin)) throw new RequestError(404, 'you have no container with that id');
      // An admin releasing someone else's container: recorded as over HTTP (DELETE /api/admin/containers/:name).
      if (holder !== me.id) call.noteForAudit({ action: 'admin.container.release', target: slot.name, extra: { user: slot.assignment?.username ?? null } });
      call.hold((changed) => changed.name === slot.name);
      await runtime.release(id);
      log.info('socket.released', { slot: slot.name, assignment: id, by: me.username });
      return { id, name: slot.name };
    },
  });
  command('pool:counts', {}, { validate: parse.none, act: () => runtime.counts() });

  command('slot:list', { admin: true }, {
    validate: parse.none,
    act: () => runtime.slots().map((s) => adminSlot(s, runtime.sinceOf(s.name))),
  });
  command('node:list', { admin: true }, { validate: parse.none, act: () => runtime.nodes().map(nodeView) });
  command('monitor:get', { admin: true }, {
    validate: parse.none,
    act: () => ({ status: monitorView(runtime.monitor()), sweeps: runtime.recentSweeps(50).map(sweepView) }),
  });
  command('monitor:run', { admin: true }, { validate: parse.none, act: async () => sweepView(await runtime.runHealthCheck()) });
  command('monitor:pause', { admin: true }, { validate: parse.none, act: () => monitorView(runtime.pauseMonitor()) });
  command('monitor:resume', { admin: true }, { validate: parse.none, act: () => monitorView(runtime.resumeMonitor()) });
  command('monitor:interval', { admin: true }, {
    validate: parse.interval,
    act: ({ seconds }) => monitorView(runtime.setHealthInterval(seconds)),
  });
  command('inspect:subscribe', { admin: true, pool: false }, {
    validate: parse.none,
    act: (_input, { socket: s }) => {
      void s.join('inspect');
      return inspector.snapshot();
    },
  });
  command('inspect:unsubscribe', { pool: false }, {
    validate: parse.none,
    act: (_input, { socket: s }) => {
      void s.leave('inspect');
      return true as const;
    },
  });
}
