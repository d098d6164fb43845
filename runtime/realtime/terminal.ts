/**
 * The web terminal: `terminal:open` starts a login shell with a TTY in the caller's container
 * (as the image's non-root user; in ssh containers as the pool user), output flows back as
 * `terminal:output`, keystrokes come as `terminal:input`, the window size as `terminal:resize`.
 * The shell and all it started end on `terminal:close`, on disconnect, on release or recovery
 * of the container, and when the server stops.
 *
 * Output is paused while the socket has more than HIGH_WATER packets waiting to be sent, so a
 * runaway command cannot fill the server's memory for a slow client.
 */
import { randomUUID } from 'node:crypto';

const TOUCH_EVERY_MS = 30_000;
import { SSH_LOGIN } from '../pool/pool-actors.ts';
import { RequestError } from '../pool/pool-runtime.ts';
import type { Shell } from '../docker/console.ts';
import { InputError, wholeNumber, type AccessContext, type AccessSocket, type Session } from './container-access.ts';

const HIGH_WATER = 32;
const MAX_INPUT = 16 * 1024;

const size = (payload: Record<string, unknown>) => ({
  cols: wholeNumber(payload.cols, 'cols', 2, 1000),
  rows: wholeNumber(payload.rows, 'rows', 1, 500),
});

export function registerTerminal(socket: AccessSocket, ctx: AccessContext): void {
  const { sessions, log } = ctx;
  const max = ctx.deps.terminalsPerSocket ?? 4;
  const shells = new Map<string, Shell>();

  ctx.on(socket, 'terminal:open', async (payload) => {
    const { cols, rows } = size(payload);
    const target = await ctx.authorize(socket, payload.id);
    const { slot, containerId, user } = target;
    const type = ctx.deps.runtime.deps.config.types[slot.type];
    const ssh = type?.protocol === 'ssh';
    const release = ctx.reserve(socket, ['terminal'], max, 'terminals');
    let shell: Shell;
    try {
      shell = await ctx.docker('the container did not start a shell; try again in a moment', () =>
        ctx.console!.shell(containerId, {
          user: ssh ? SSH_LOGIN : undefined,
          workdir: ssh ? `/home/${SSH_LOGIN}` : type?.filesMount,
          cols,
          rows,
        }),
      );
    } finally {
      release();
    }
    const handle = `t-${randomUUID()}`;
    let ended = false;
    const end = async (reason: string, code: number | null = null) => {
      if (ended) return;
      ended = true;
      sessions.delete(handle);
      shells.delete(handle);
      await shell.close();
      socket.emit('terminal:exit', { handle, reason, code });
      log.info('terminal.closed', { slot: slot.name, user: user.username, reason });
    };
    const session: Session = { handle, kind: 'terminal', socketId: socket.id, slot: slot.name, assignmentId: slot.assignment!.id, containerId, end: (reason) => end(reason) };
    sessions.add(session);
    shells.set(handle, shell);

    const conn = socket.conn as unknown as { writeBuffer: unknown[]; once(event: 'drain', fn: () => void): void };
    let paused = false;
    // Output and exit are relayed once the ack (with the handle) has gone out: the shell keeps
    // what it printed until then, so the client never sees output for a handle it does not know.
    setImmediate(() => {
      if (ended) return;
      shell.onOutput((data) => {
        socket.emit('terminal:output', { handle, data });
        if (!paused && conn.writeBuffer.length > HIGH_WATER) {
          paused = true;
          shell.pause();
          conn.once('drain', () => {
            paused = false;
            shell.resume();
          });
        }
      });
      shell.onExit((code) => void end(code === null ? 'the shell ended' : `the shell exited with code ${code}`, code));
    });
    const changed = ctx.deps.runtime.slotOfAssignment(session.assignmentId)?.containerId !== containerId;
    if (!socket.connected || changed) {
      await end(changed ? 'the container changed' : 'the connection closed');
      throw new RequestError(409, 'the container changed while the terminal opened; open it again');
    }
    log.info('terminal.opened', { slot: slot.name, user: user.username, admin: user.id !== slot.assignment!.userId, as: shell.user });
    return { handle, user: shell.user };
  });

  /** Typing in the terminal is activity (for the idle TTL), recorded at most every TOUCH_EVERY_MS. */
  const lastTouch = new Map<number, number>();
  const shellOf = (handle: unknown) => {
    sessions.mine(socket, handle, 'terminal');
    return shells.get(handle as string)!;
  };

  ctx.on(socket, 'terminal:input', (payload) => {
    const shell = shellOf(payload.handle);
    if (typeof payload.data !== 'string' || payload.data.length > MAX_INPUT) throw new InputError(`data must be a string of at most ${MAX_INPUT} characters`);
    shell.write(payload.data);
    const session = sessions.mine(socket, payload.handle, 'terminal');
    const now = Date.now();
    if (now - (lastTouch.get(session.assignmentId) ?? 0) > TOUCH_EVERY_MS) {
      lastTouch.set(session.assignmentId, now);
      ctx.deps.runtime.touch(session.assignmentId);
    }
    return true as const;
  });

  ctx.on(socket, 'terminal:resize', async (payload) => {
    const shell = shellOf(payload.handle);
    const { cols, rows } = size(payload);
    await shell.resize(cols, rows);
    return true as const;
  });

  ctx.on(socket, 'terminal:close', async (payload) => {
    const session = sessions.mine(socket, payload.handle, 'terminal');
    await session.end('closed');
    return true as const;
  });
}
