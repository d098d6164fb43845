/**
 * The socket.io events for going into a container: a web terminal (`terminal:*`), its logs
 * (`logs:*`) and its resource numbers (`stats:*`). Served by runtime/realtime/container-access.ts;
 * merged into the maps of `shared/events.ts`. Every open/subscribe names the container by its
 * assignment id (what `container:list` returns as `id`) and is refused unless the caller owns
 * that container or is an admin. What is opened is named by a `handle` the ack returns; every
 * later event carries it.
 *
 * This file imports nothing, so the browser bundle and the server can both use it.
 */

type Ack<T> = { data: T } | { error: string };
type AckFn<T> = (response: Ack<T>) => void;

export interface TerminalOpen {
  /** The container's assignment id. */
  id: number;
  cols: number;
  rows: number;
}

export interface TerminalOpened {
  handle: string;
  /** Who the shell runs as inside the container, e.g. `www-data`, `user`. */
  user: string;
}

export interface LogsSubscribe {
  id: number;
  /** How many lines from the end to send first (0-5000, default 200). */
  tail?: number;
  /** Keep sending new lines as they are written (default true). */
  follow?: boolean;
}

export interface LogLine {
  source: 'stdout' | 'stderr';
  text: string;
}

/** One reading of a container's resource use. */
export interface StatsSample {
  handle: string;
  /** When Docker took the reading (ms since the epoch). */
  at: number;
  /** CPU use as `docker stats` shows it: 100 = one whole core. */
  cpuPercent: number;
  /** The container's CPU limit in cores (e.g. 0.5), or null when unlimited. */
  cpuLimit: number | null;
  /** Memory in use, without the page cache, as `docker stats` counts it. */
  memoryBytes: number;
  memoryLimitBytes: number;
  memoryPercent: number;
  /** Bytes received / sent since the container started, all interfaces. */
  rxBytes: number;
  txBytes: number;
  /** Bytes per second since the previous reading (0 on the first). */
  rxRate: number;
  txRate: number;
  pids: number;
}

export interface StreamEnded {
  handle: string;
  /** A sentence: `the container was released`, `the shell exited with code 0`, … */
  reason: string;
}

export interface ConsoleServerEvents {
  /** Terminal output, as text (UTF-8 decoded on the server). */
  'terminal:output': (payload: { handle: string; data: string }) => void;
  /** The shell ended (exit, release, recovery, close); the handle is dead. */
  'terminal:exit': (payload: StreamEnded & { code: number | null }) => void;
  /** New log lines of a container you subscribed to. */
  'logs:data': (payload: { handle: string; lines: LogLine[] }) => void;
  'logs:end': (payload: StreamEnded) => void;
  /** About once a second per subscription. */
  'stats:sample': (sample: StatsSample) => void;
  'stats:end': (payload: StreamEnded) => void;
}

export interface ConsoleClientEvents {
  /** Start a shell with a TTY in one of your containers (admins: any container). */
  'terminal:open': (payload: TerminalOpen, ack: AckFn<TerminalOpened>) => void;
  /** Keystrokes. The ack is optional: without one, errors are dropped. */
  'terminal:input': (payload: { handle: string; data: string }, ack?: AckFn<true>) => void;
  /** The window changed size. The ack is optional. */
  'terminal:resize': (payload: { handle: string; cols: number; rows: number }, ack?: AckFn<true>) => void;
  /** End the shell and everything started from it. */
  'terminal:close': (payload: { handle: string }, ack: AckFn<true>) => void;
  'logs:subscribe': (payload: LogsSubscribe, ack: AckFn<{ handle: string }>) => void;
  'logs:unsubscribe': (payload: { handle: string }, ack: AckFn<true>) => void;
  'stats:subscribe': (payload: { id: number }, ack: AckFn<{ handle: string }>) => void;
  'stats:unsubscribe': (payload: { handle: string }, ack: AckFn<true>) => void;
}
