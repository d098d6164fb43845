/**
 * Before any /api handler runs: find the route in API_ROUTES, check who is asking (401/403) and
 * validate the JSON body against the route's schema (400 with one sentence per problem, in the
 * words the API always used). Handlers then read the body with `validBody(req, schema)`.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { Request, RequestHandler } from 'express';
import { RequestError } from '../request-error.ts';
import { adminOf, userOf } from '../auth.ts';
import { API_ROUTES, type RouteSpec } from './routes.ts';

interface Compiled {
  spec: RouteSpec;
  pattern: RegExp;
  body: TypeCheck<TSchema> | null;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const compile = (spec: RouteSpec): Compiled => ({
  spec,
  pattern: new RegExp(`^${spec.path.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : escape(part))).join('/')}/?$`),
  body: spec.body ? TypeCompiler.Compile(spec.body) : null,
});

const validated = new WeakMap<Request, unknown>();

/** The route of an /api request (path relative to /api), or undefined. */
export function routeOf(routes: Compiled[], method: string, path: string): Compiled | undefined {
  return routes.find((r) => r.spec.method === method && r.pattern.test(path));
}

export function compileRoutes(routes: RouteSpec[] = API_ROUTES): Compiled[] {
  return routes.map(compile);
}

/** One sentence for the first problem of each field, like "missing fields: a, b". */
export function bodyProblem(check: TypeCheck<TSchema>, body: Record<string, unknown>): string | null {
  const missing: string[] = [];
  const other: string[] = [];
  const seen = new Set<string>();
  for (const error of check.Errors(body)) {
    const key = error.path.split('/')[1] ?? '';
    if (seen.has(key)) continue;
    seen.add(key);
    const value = body[key];
    if (value === undefined || value === null || value === '') missing.push(key);
    else other.push(sentence(key, error));
  }
  if (missing.length) {
    const order = Object.keys((check.Schema() as { properties?: Record<string, unknown> }).properties ?? {});
    missing.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    return `missing field${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`;
  }
  return other[0] ?? null;
}

function sentence(key: string, error: ValueError): string {
  const schema = error.schema as { maxLength?: number; minimum?: number; maximum?: number; type?: string };
  switch (error.type) {
    case ValueErrorType.String:
      return `"${key}" must be a string`;
    case ValueErrorType.StringPattern:
      return `"${key}" must not contain control characters`;
    case ValueErrorType.StringMaxLength:
      return `"${key}" is too long (at most ${schema.maxLength} characters)`;
    case ValueErrorType.Integer:
      return `"${key}" must be a whole number`;
    case ValueErrorType.Number:
      return `"${key}" must be a number`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
      return schema.maximum === undefined ? `"${key}" must be at least ${schema.minimum}` : `"${key}" must be from ${schema.minimum ?? '-∞'} to ${schema.maximum}`;
    default:
      return `"${key}" is not valid: ${error.message}`;
  }
}

export function validateRequests(routes = compileRoutes()): RequestHandler {
  return (req, _res, next) => {
    const route = routeOf(routes, req.method, req.path);
    if (!route) return next();
    if (route.spec.auth === 'user') userOf(req);
    else if (route.spec.auth === 'admin') adminOf(req);
    if (route.body) {
      const body: unknown = req.body ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'the request body must be a JSON object');
      const problem = route.body.Check(body) ? null : bodyProblem(route.body, body as Record<string, unknown>);
      if (problem) throw new RequestError(400, problem);
      validated.set(req, body);
    }
    next();
  };
}

/** The body the validator accepted for this route's schema. */
export function validBody<T extends TSchema>(req: Request, _schema: T): Static<T> {
  if (!validated.has(req)) throw new RequestError(500, 'internal error: the body of this route was not validated');
  return validated.get(req) as Static<T>;
}
