/** GET /api/openapi.json: an OpenAPI 3.1 document generated from API_ROUTES and its schemas. */
import type { TSchema } from '@sinclair/typebox';
import { SESSION_COOKIE } from '../../accounts/accounts.ts';
import { ErrorAnswer } from './schemas.ts';
import { API_ROUTES, type RouteSpec } from './routes.ts';

const REASON: Record<number, string> = {
  200: 'OK', 201: 'Created', 400: 'Bad input', 401: 'Not logged in', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict',
  413: 'Too large', 415: 'Wrong content type', 429: 'Too many requests', 503: 'Not ready or busy', 507: 'Not enough disk space',
};

/** TypeBox schemas carry symbol keys; JSON has none, so a JSON round trip gives plain JSON Schema. */
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));
const json = (schema: TSchema) => ({ 'application/json': { schema: plain(schema) } });

function operation(route: RouteSpec) {
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const errors = new Set(route.errors ?? []);
  if (route.auth !== 'none') errors.add(401);
  if (route.auth === 'admin') errors.add(403);
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(route.responses)) responses[status] = { description: REASON[Number(status)] ?? 'Answer', content: json(schema) };
  for (const status of [...errors].sort()) responses[String(status)] = { description: REASON[status] ?? 'Error', content: json(ErrorAnswer) };
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^\w]/g, '')}`,
    ...(params.length ? { parameters: params } : {}),
    ...(route.auth === 'none' ? { security: [] } : {}),
    ...(route.body ? { requestBody: { required: true, content: json(route.body) } } : {}),
    ...(route.multipart
      ? { requestBody: { required: true, content: { 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'array', items: { type: 'string', contentEncoding: 'binary' } } } } } } } }
      : {}),
    responses,
  };
}

export function openApiDocument(version: string, routes: RouteSpec[] = API_ROUTES): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api${route.path.replace(/:(\w+)/g, '{$1}')}`;
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pooldeck API',
      version,
      description: 'Warm containers handed out at once. Authenticate with the session cookie (browsers) or `Authorization: Bearer pd_…` (an API token). The guide is docs/api.md.',
    },
    servers: [{ url: '/' }],
    tags: [{ name: 'accounts' }, { name: 'containers' }, { name: 'admin', description: 'admins only' }],
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer', description: 'an API token, pd_…' },
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
      },
    },
    security: [{ token: [] }, { session: [] }],
    paths,
  };
}
