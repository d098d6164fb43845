/**
 * Run-time validation of what socket clients send: types do not check a payload, these do.
 * An InputError's message is a sentence for the client; anything else is sanitised.
 */
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
};
