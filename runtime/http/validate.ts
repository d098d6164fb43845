/**
 * What the schemas (api/schemas.ts) cannot say: bounds known only at run time, and path ids.
 * Request bodies are validated by api/request-validation.ts before a handler runs.
 */
import { RequestError } from './request-error.ts';

/** A bound that depends on the pool (e.g. a type's port range): 400 with the same sentence as the schema's. */
export function upTo(key: string, value: number, min: number, max: number): number {
  if (value < min || value > max) throw new RequestError(400, `"${key}" must be from ${min} to ${max}`);
  return value;
}

/** A numeric row id from the path; anything else is "not found" (404), like an id nobody has. */
export function idParam(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value)) throw new RequestError(404, `no such ${what}`);
  return Number(value);
}
