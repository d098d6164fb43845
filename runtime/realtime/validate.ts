/**
 * Run-time validation of what socket clients send: types do not check a payload, these do.
 * Each parser returns the payload type shared/events.ts declares for its event, or throws an
 * InputError whose message is a sentence for the client (anything else is sanitised).
 */
import type { LogsSubscribe, TerminalOpen } from '../../shared/console-events.ts';

export class InputError extends Error {}

export function record(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError('the payload must be an object');
  return raw as Record<string, unknown>;
}

export function wholeNumber(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new InputError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

const MAX_TAIL = 5000;
const MAX_INPUT = 16 * 1024;

const assignmentId = (value: unknown) => wholeNumber(value, 'id', 1, Number.MAX_SAFE_INTEGER);
const handleOf = (value: unknown): string => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) throw new InputError('handle must be the string the open/subscribe ack returned');
  return value;
};
const size = (payload: Record<string, unknown>) => ({
  cols: wholeNumber(payload.cols, 'cols', 2, 1000),
  rows: wholeNumber(payload.rows, 'rows', 1, 500),
});

export const parse = {
  none: (): void => undefined,
  launch(raw: unknown): { type: string } {
    const { type } = record(raw);
    if (typeof type !== 'string' || !/^[a-z0-9-]{1,32}$/.test(type)) throw new InputError('type must be the name of a container type, e.g. "nginx"');
    return { type };
  },
  release(raw: unknown): { id: number } {
    const { id } = record(raw);
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new InputError('id must be the container\'s id (a positive whole number)');
    return { id };
  },
  interval(raw: unknown): { seconds: number } {
    const { seconds } = record(raw);
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) throw new InputError('seconds must be a number from 1 to 86400');
    return { seconds };
  },
  terminalOpen(raw: unknown): TerminalOpen {
    const payload = record(raw);
    return { ...size(payload), id: assignmentId(payload.id) };
  },
  terminalInput(raw: unknown): { handle: string; data: string } {
    const payload = record(raw);
    const handle = handleOf(payload.handle);
    if (typeof payload.data !== 'string' || payload.data.length > MAX_INPUT) throw new InputError(`data must be a string of at most ${MAX_INPUT} characters`);
    return { handle, data: payload.data };
  },
  terminalResize(raw: unknown): { handle: string; cols: number; rows: number } {
    const payload = record(raw);
    return { handle: handleOf(payload.handle), ...size(payload) };
  },
  handle(raw: unknown): { handle: string } {
    return { handle: handleOf(record(raw).handle) };
  },
  logsSubscribe(raw: unknown): Required<LogsSubscribe> {
    const payload = record(raw);
    const tail = wholeNumber(payload.tail, 'tail', 0, MAX_TAIL, 200);
    if (payload.follow !== undefined && typeof payload.follow !== 'boolean') throw new InputError('follow must be true or false');
    return { tail, follow: payload.follow !== false, id: assignmentId(payload.id) };
  },
  statsSubscribe(raw: unknown): { id: number } {
    return { id: assignmentId(record(raw).id) };
  },
};
