/**
 * Structured logs through pino: one JSON object per line, `{ level, time, msg, ...fields }` with
 * level names and ISO times, for journald and log shippers. On a terminal (or with
 * POOLDECK_LOG_PRETTY=1) the same events are printed readably by pino-pretty, so a newcomer sees
 * e.g. the generated admin password as a line of its own instead of inside JSON.
 */
import pino, { type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Readable on a terminal unless told otherwise; JSON everywhere else (files, pipes, journald). */
export function wantsPretty(env: NodeJS.ProcessEnv = process.env, tty = Boolean(process.stdout.isTTY)): boolean {
  if (env.POOLDECK_LOG_PRETTY === '1' || env.POOLDECK_LOG_PRETTY === 'true') return true;
  if (env.POOLDECK_LOG_PRETTY === '0' || env.POOLDECK_LOG_PRETTY === 'false') return false;
  return tty;
}

function destination(write: ((line: string) => void) | undefined): DestinationStream {
  if (write) return { write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
  if (wantsPretty()) {
    return pretty({
      colorize: true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      singleLine: false,
      // The one secret ever logged, once: make it impossible to miss.
      customPrettifiers: { password: (value) => `\x1b[1;33m${String(value)}\x1b[0m  <- the admin password, shown only now` },
    });
  }
  return pino.destination({ dest: 1, sync: true });
}

function wrap(logger: pino.Logger): Logger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (fields) => wrap(logger.child(fields)),
  };
}

export function createLogger(level: Level = 'info', base: Record<string, unknown> = {}, write?: (line: string) => void): Logger {
  const logger = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(write),
  );
  return wrap(Object.keys(base).length ? logger.child(base) : logger);
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
