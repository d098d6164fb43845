/**
 * The web terminal: `terminal:open` starts a login shell with a TTY in the caller's container
 * (as the type's terminal user, never the user that serves the port), output flows back as
 * `terminal:output`, keystrokes come as `terminal:input`, the window size as `terminal:resize`.
 * The shell and all it started end on `terminal:close`, on disconnect, on release or recovery
 * of the container, and when the server stops.
 *
 * Output is paused while the socket is behind (backpressure.ts), so a runaway command cannot
 * fill the server's memory for a slow client; typed input that the shell does not read is
 * refused beyond the shell's bound (Shell.write), so a client cannot fill it the other way.
 */
import { randomUUID } from 'node:crypto';
import type { Shell } from '../docker/console.ts';
import { SSH_LOGIN } from '../pool/pool-actors.ts';
import { RequestError } from '../http/request-error.ts';
import { pauseWhenBehind } from './backpressure.ts';
import { handle } from './handler.ts';
import type { AccessContext, Session } from './sessions.ts';
import type { RealtimeSocket } from './socket-types.ts';
import { parse } from './validate.ts';

const TOUCH_EVERY_MS = 30_000;

export function registerTerminal(socket: RealtimeSocket, ctx: AccessContext): void {
  const { sessions, log } = ctx;
  const max = ctx.terminalsPerSocket;
  const shells = new Map<string, Shell>();

  handle(socket, 'terminal:open', {
    validate: parse.terminalOpen,
    async act({ id, cols, rows }) {
      const target = await ctx.authorize(socket, id);
      const { slot, containerId, user } = target;
      const type = ctx.config.types[slot.type];
      const ssh = type?.protocol === 'ssh';
      const release = ctx.reserve(socket, ['terminal'], max, 'terminals');
      let shell: Shell;
      try {
        shell = await ctx.docker('the container did not start a shell; try again in a moment', () =>
          target.console.shell(containerId, {
            user: type?.terminalUser ?? SSH_LOGIN,
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
      const session: Session = { handle, kind: 'terminal', socketId: socket.id, slot: slot.name, assignmentId: target.assignmentId, containerId, end: (reason) => end(reason) };
      sessions.add(session);
      shells.set(handle, shell);

      const checkBehind = pauseWhenBehind(socket, shell);
      // Output and exit are relayed once the ack (with the handle) has gone out: the shell keeps
      // what it printed until then, so the client never sees output for a handle it does not know.
      setImmediate(() => {
        if (ended) return;
        shell.onOutput((data) => {
          socket.emit('terminal:output', { handle, data });
          checkBehind();
        });
        shell.onExit((code) => void end(code === null ? 'the shell ended' : `the shell exited with code ${code}`, code));
      });
      const changed = ctx.runtime.slotOfAssignment(session.assignmentId)?.containerId !== containerId;
      if (!socket.connected || changed) {
        await end(changed ? 'the container changed' : 'the connection closed');
        throw new RequestError(409, 'the container changed while the terminal opened; open it again');
      }
      log.info('terminal.opened', { slot: slot.name, user: user.username, admin: user.id !== target.holderId, as: shell.user });
      return { handle, user: shell.user };
    },
  }, ctx.handlers);

  /** Typing in the terminal is activity (for the idle TTL), recorded at most every TOUCH_EVERY_MS. */
  const lastTouch = new Map<number, number>();
  const shellOf = (handle: string): { session: Session; shell: Shell } => {
    const session = sessions.mine(socket, handle, 'terminal');
    const shell = shells.get(handle);
    if (!shell) throw new RequestError(409, 'that terminal is still opening or already closed');
    return { session, shell };
  };

  handle(socket, 'terminal:input', {
    validate: parse.terminalInput,
    act({ handle, data }) {
      const { session, shell } = shellOf(handle);
      if (!shell.write(data)) throw new RequestError(429, 'the terminal is not reading what you type; wait until it does (this input was dropped)');
      const now = Date.now();
      if (now - (lastTouch.get(session.assignmentId) ?? 0) > TOUCH_EVERY_MS) {
        lastTouch.set(session.assignmentId, now);
        ctx.runtime.touch(session.assignmentId);
      }
      return true as const;
    },
  }, ctx.handlers);

  handle(socket, 'terminal:resize', {
    validate: parse.terminalResize,
    async act({ handle, cols, rows }) {
      await shellOf(handle).shell.resize(cols, rows);
      return true as const;
    },
  }, ctx.handlers);

  handle(socket, 'terminal:close', {
    validate: parse.handle,
    async act({ handle }) {
      await sessions.mine(socket, handle, 'terminal').end('closed');
      return true as const;
    },
  }, ctx.handlers);
}
