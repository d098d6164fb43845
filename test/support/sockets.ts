/** Typed socket.io clients for black-box tests of the live API (terminal, logs, stats). */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.ts';
import { eventually } from './server.ts';

export type PoolSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connect with an API token (or a session cookie) and wait until connected. */
export async function openSocket(url: string, auth: { token?: string; cookie?: string }): Promise<PoolSocket> {
  const socket: PoolSocket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    ...(auth.token ? { auth: { token: auth.token } } : { extraHeaders: { cookie: auth.cookie ?? '' } }),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emit with an ack and return the raw answer (`{ data }` or `{ error }`). */
export async function emitAck<T = unknown>(socket: PoolSocket, event: string, payload?: unknown, ms = 30_000): Promise<Ack<T>> {
  const timed = socket.timeout(ms) as unknown as { emitWithAck(e: string, ...a: unknown[]): Promise<Ack<T>> };
  return payload === undefined ? timed.emitWithAck(event) : timed.emitWithAck(event, payload);
}

/** Emit with an ack; throws the server's sentence on `{ error }`. */
export async function ask<T = unknown>(socket: PoolSocket, event: string, payload?: unknown): Promise<T> {
  const reply = await emitAck<T>(socket, event, payload);
  if ('error' in reply) throw new Error(reply.error);
  return reply.data;
}

/** A terminal opened over a socket, with everything it printed so far. */
export class TerminalClient {
  output = '';
  exit: { reason: string; code: number | null } | null = null;

  private constructor(
    readonly socket: PoolSocket,
    readonly handle: string,
    readonly user: string,
  ) {}

  static async open(socket: PoolSocket, id: number, size = { cols: 120, rows: 40 }): Promise<TerminalClient> {
    const early: Array<{ handle: string; data: string }> = [];
    const collect = (p: { handle: string; data: string }) => early.push(p);
    socket.on('terminal:output', collect);
    const opened = await ask<{ handle: string; user: string }>(socket, 'terminal:open', { id, ...size });
    socket.off('terminal:output', collect);
    const term = new TerminalClient(socket, opened.handle, opened.user);
    term.output = early.filter((p) => p.handle === opened.handle).map((p) => p.data).join('');
    socket.on('terminal:output', (p) => {
      if (p.handle === term.handle) term.output += p.data;
    });
    socket.on('terminal:exit', (p) => {
      if (p.handle === term.handle) term.exit = { reason: p.reason, code: p.code };
    });
    return term;
  }

  type(data: string): void {
    this.socket.emit('terminal:input', { handle: this.handle, data });
  }

  /** Type a command and wait for `marker` to show up in the output after it. */
  async run(command: string, marker: RegExp, ms = 10_000): Promise<string> {
    const from = this.output.length;
    this.type(`${command}\n`);
    const seen = await eventually(() => marker.test(this.output.slice(from)), ms, 25);
    if (!seen.ok) throw new Error(`no ${marker} after "${command}" within ${ms} ms; output:\n${this.output.slice(from)}`);
    return this.output.slice(from);
  }

  close(): Promise<true> {
    return ask<true>(this.socket, 'terminal:close', { handle: this.handle });
  }
}
