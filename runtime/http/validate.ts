/** Small runtime validators for request bodies and path parameters; each failure is a 400 sentence. */
import type { Request } from 'express';
import { RequestError } from './request-error.ts';

export type Body = Record<string, unknown>;

/** The JSON object body, or 400. A missing or non-JSON body counts as `{}` so fields report as missing. */
export function jsonBody(req: Request): Body {
  const body: unknown = req.body;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new RequestError(400, 'the request body must be a JSON object');
  return body as Body;
}

/** Control characters (C0, DEL, C1) and bidi overrides: never part of a name, address or note. */
export const CONTROL_RE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Fields that may hold any character: secrets are never shown, key lines are parsed strictly. */
const RAW_FIELDS = new Set(['password', 'key']);

/**
 * Required string fields; reports every missing one at once, then any of the wrong type, too
 * long, or holding control characters (every field but passwords and key lines).
 */
export function strings<K extends string>(body: Body, keys: readonly K[], maxLength = 1024): Record<K, string> {
  const missing = keys.filter((k) => body[k] === undefined || body[k] === null || body[k] === '');
  if (missing.length) throw new RequestError(400, `missing field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  for (const k of keys) {
    if (typeof body[k] !== 'string') throw new RequestError(400, `"${k}" must be a string`);
    if ((body[k] as string).length > maxLength) throw new RequestError(400, `"${k}" is too long (at most ${maxLength} characters)`);
    if (!RAW_FIELDS.has(k) && CONTROL_RE.test(body[k] as string)) throw new RequestError(400, `"${k}" must not contain control characters`);
  }
  return Object.fromEntries(keys.map((k) => [k, body[k]])) as Record<K, string>;
}

export function integer(body: Body, key: string, min: number, max: number): number {
  const value = body[key];
  if (value === undefined || value === null || value === '') throw new RequestError(400, `missing field: ${key}`);
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new RequestError(400, `"${key}" must be a whole number`);
  if (value < min || value > max) throw new RequestError(400, `"${key}" must be from ${min} to ${max}`);
  return value;
}

export function number(body: Body, key: string, min: number, max: number): number {
  const value = body[key];
  if (value === undefined || value === null || value === '') throw new RequestError(400, `missing field: ${key}`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RequestError(400, `"${key}" must be a number`);
  if (value < min || value > max) throw new RequestError(400, `"${key}" must be from ${min} to ${max}`);
  return value;
}

/** A numeric row id from the path; anything else is "not found" (404), like an id nobody has. */
export function idParam(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value)) throw new RequestError(404, `no such ${what}`);
  return Number(value);
}
