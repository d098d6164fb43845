/**
 * A container's log (`logs:subscribe` → `logs:data` … `logs:end`) and its CPU, memory and
 * network numbers (`stats:subscribe` → `stats:sample` about once a second … `stats:end`),
 * for the container's holder and admins. Lines and samples go only to the socket that asked.
 */
import { randomUUID } from 'node:crypto';
import type { LogLine } from '../../shared/console-events.ts';
import { usageOf, type Subscription, type Usage } from '../docker/console.ts';
import { pauseWhenBehind } from './backpressure.ts';
import { handle } from './handler.ts';
import type { AccessContext, Session, SessionKind, Target } from './sessions.ts';
import type { RealtimeSocket } from './socket-types.ts';
import { parse } from './validate.ts';

/** Lines are sent in batches of at most this many, so a long tail does not make one huge packet. */
const BATCH = 500;

export function registerStreams(socket: RealtimeSocket, ctx: AccessContext): void {
  const { sessions, log } = ctx;
  const max = ctx.streamsPerSocket;
  const nano = ctx.config.limits?.nanoCpus;
  const cpuLimit = nano ? nano / 1e9 : null;

  /**
   * Register a session whose Docker stream `open` starts; `end` stops it and says why; `emitted`
   * is called after each packet sent and pauses the stream while the socket is behind.
   */
  async function start(kind: SessionKind, target: Target, open: (handle: string, end: (reason: string) => void, emitted: () => void) => Promise<Subscription>, ended: (handle: string, reason: string) => void) {
    const release = ctx.reserve(socket, ['logs', 'stats'], max, 'log and stats streams');
    const handle = `${kind[0]}-${randomUUID()}`;
    let subscription: Subscription | null = null;
    let done = false;
    const emitted = pauseWhenBehind(socket, { pause: () => subscription?.pause(), resume: () => subscription?.resume() });
    const end = async (reason: string) => {
      if (done) return;
      done = true;
      sessions.delete(handle);
      subscription?.stop();
      ended(handle, reason);
      log.debug(`${kind}.ended`, { slot: target.slot.name, user: target.user.username, reason });
    };
    const session: Session = { handle, kind, socketId: socket.id, slot: target.slot.name, assignmentId: target.assignmentId, containerId: target.containerId, end };
    sessions.add(session);
    release();
    try {
      subscription = await ctx.docker(`could not read the ${kind === 'logs' ? 'logs' : 'numbers'} of ${target.slot.name}; try again in a moment`, () => open(handle, (reason) => void end(reason), emitted));
    } catch (error) {
      done = true;
      sessions.delete(handle);
      throw error;
    }
    if (done) subscription.stop();
    else if (!socket.connected) await end('the connection closed');
    log.debug(`${kind}.started`, { slot: target.slot.name, user: target.user.username });
    return { handle };
  }

  handle(socket, 'logs:subscribe', {
    validate: parse.logsSubscribe,
    async act({ id, tail, follow }) {
      const target = await ctx.authorize(socket, id);
      return start(
        'logs',
        target,
        (handle, end, emitted) =>
          target.console.logs(
            target.containerId,
            { tail, follow },
            (lines: LogLine[]) => {
              for (let i = 0; i < lines.length; i += BATCH) socket.emit('logs:data', { handle, lines: lines.slice(i, i + BATCH) });
              emitted();
            },
            (error) => end(error ? `the log stream broke: ${error}` : follow ? 'the container stopped' : 'end of the log'),
          ),
        (handle, reason) => socket.emit('logs:end', { handle, reason }),
      );
    },
  }, ctx.handlers);

  handle(socket, 'stats:subscribe', {
    validate: parse.statsSubscribe,
    async act({ id }) {
      const target = await ctx.authorize(socket, id);
      let previous: Usage | null = null;
      return start(
        'stats',
        target,
        (handle, end) =>
          target.console.stats(
            target.containerId,
            (raw) => {
              previous = usageOf(raw, previous);
              socket.emit('stats:sample', { handle, cpuLimit, ...previous });
            },
            (error) => end(error ?? 'the container stopped'),
          ),
        (handle, reason) => socket.emit('stats:end', { handle, reason }),
      );
    },
  }, ctx.handlers);

  for (const kind of ['logs', 'stats'] as const) {
    handle(socket, `${kind}:unsubscribe`, {
      validate: parse.handle,
      async act({ handle }) {
        await sessions.mine(socket, handle, kind).end('unsubscribed');
        return true as const;
      },
    }, ctx.handlers);
  }
}
