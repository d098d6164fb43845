/**
 * Every /api route in one table: who may call it, what body it takes, what it answers. The
 * request validator (request-validation.ts) enforces `auth` and `body` before a handler runs,
 * and the OpenAPI document (openapi.ts) is generated from this table. A route that is not here
 * is refused by a test (test/integration/openapi.test.ts compares this table with express).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import * as S from './schemas.ts';

export type Auth = 'none' | 'user' | 'admin';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Express syntax under /api, e.g. `/containers/:id`. */
  path: string;
  summary: string;
  tag: 'accounts' | 'containers' | 'admin';
  auth: Auth;
  body?: TSchema;
  /** Answers by status; every route may also answer the errors listed in `errors`. */
  responses: Record<number, TSchema>;
  /** Statuses with an `{ error }` body this route is known to give (besides 401/403 from `auth`). */
  errors?: number[];
  /** The body is not JSON (multipart file upload). */
  multipart?: boolean;
}

const list = (key: string, item: TSchema) => Type.Object({ [key]: Type.Array(item) });
const one = (key: string, item: TSchema) => Type.Object({ [key]: item });

export const API_ROUTES: RouteSpec[] = [
  // ---- accounts ----
  { method: 'GET', path: '/auth/registration', tag: 'accounts', auth: 'none', summary: 'How registration works here: open, invite or closed', responses: { 200: Type.Object({ mode: Type.String() }) } },
  { method: 'POST', path: '/auth/register', tag: 'accounts', auth: 'none', summary: 'Create an account', body: S.Bodies.register, responses: { 201: one('user', S.User) }, errors: [400, 403, 409, 429] },
  { method: 'POST', path: '/auth/login', tag: 'accounts', auth: 'none', summary: 'Log in; sets the session cookie', body: S.Bodies.login, responses: { 200: Type.Object({ user: S.User, expires_at: Type.String() }) }, errors: [400, 401, 429, 503] },
  { method: 'POST', path: '/auth/logout', tag: 'accounts', auth: 'none', summary: 'End this session', responses: { 200: S.Ok } },
  { method: 'GET', path: '/session', tag: 'accounts', auth: 'none', summary: 'Who is asking, without an error when nobody is logged in', responses: { 200: Type.Object({ user: Type.Union([S.User, Type.Null()]) }) } },
  { method: 'GET', path: '/me', tag: 'accounts', auth: 'user', summary: 'Who is asking', responses: { 200: one('user', S.User) } },
  { method: 'PUT', path: '/me/password', tag: 'accounts', auth: 'user', summary: 'Change the password (the current one required); other sessions end', body: S.Bodies.passwordChange, responses: { 200: Type.Object({ ok: Type.Literal(true), endedSessions: Type.Integer() }) }, errors: [400, 403, 429] },
  { method: 'GET', path: '/me/sessions', tag: 'accounts', auth: 'user', summary: 'My login sessions', responses: { 200: list('sessions', S.Session) } },
  { method: 'DELETE', path: '/me/sessions/:id', tag: 'accounts', auth: 'user', summary: 'End one of my sessions', responses: { 200: Type.Object({ ok: Type.Literal(true), current: Type.Boolean() }) }, errors: [404] },
  { method: 'DELETE', path: '/me', tag: 'accounts', auth: 'user', summary: 'Delete my account (my containers are released)', body: S.Bodies.accountDelete, responses: { 200: Type.Object({ ok: Type.Literal(true), released: Type.Array(Type.String()) }) }, errors: [400, 403, 409] },
  { method: 'GET', path: '/tokens', tag: 'accounts', auth: 'user', summary: 'My API tokens', responses: { 200: list('tokens', S.Token) } },
  { method: 'POST', path: '/tokens', tag: 'accounts', auth: 'user', summary: 'Create an API token (shown once)', body: S.Bodies.tokenCreate, responses: { 201: Type.Object({ token: Type.String(), id: Type.Integer(), name: Type.String() }) }, errors: [400, 409] },
  { method: 'DELETE', path: '/tokens/:id', tag: 'accounts', auth: 'user', summary: 'Revoke an API token', responses: { 200: S.Ok }, errors: [404] },
  { method: 'GET', path: '/me/keys', tag: 'accounts', auth: 'user', summary: 'My SSH public keys', responses: { 200: list('keys', S.SshKey) } },
  { method: 'POST', path: '/me/keys', tag: 'accounts', auth: 'user', summary: 'Add an SSH public key', body: S.Bodies.keyAdd, responses: { 201: one('key', S.SshKey) }, errors: [400, 409] },
  { method: 'DELETE', path: '/me/keys/:id', tag: 'accounts', auth: 'user', summary: 'Delete an SSH public key', responses: { 200: S.Ok }, errors: [404] },
  // ---- containers ----
  { method: 'GET', path: '/pool', tag: 'containers', auth: 'user', summary: 'Free and used containers per type', responses: { 200: one('pool', S.Counts) } },
  { method: 'GET', path: '/containers', tag: 'containers', auth: 'user', summary: 'My containers', responses: { 200: list('containers', S.Container) } },
  { method: 'POST', path: '/containers', tag: 'containers', auth: 'user', summary: 'Get a container of a type, at once, from the warm pool', body: S.Bodies.launch, responses: { 201: one('container', S.Container) }, errors: [400, 409, 429, 503] },
  { method: 'GET', path: '/containers/:id', tag: 'containers', auth: 'user', summary: 'One of my containers', responses: { 200: one('container', S.Container) }, errors: [404] },
  { method: 'DELETE', path: '/containers/:id', tag: 'containers', auth: 'user', summary: 'Release one of my containers', responses: { 200: Type.Object({ ok: Type.Literal(true), id: Type.Integer() }) }, errors: [404, 409, 503] },
  { method: 'GET', path: '/containers/:id/credentials', tag: 'containers', auth: 'user', summary: 'ssh containers: the login of this assignment', responses: { 200: Type.Object({ username: Type.String(), password: Type.String(), keys: Type.Integer() }) }, errors: [400, 404, 409] },
  { method: 'GET', path: '/containers/:id/files', tag: 'containers', auth: 'user', summary: 'The files a container serves', responses: { 200: list('files', S.FileEntry) }, errors: [404] },
  { method: 'POST', path: '/containers/:id/files', tag: 'containers', auth: 'user', summary: 'Upload files (multipart/form-data, one part per file)', multipart: true, responses: { 201: list('files', S.FileEntry) }, errors: [400, 404, 409, 413, 415, 507] },
  { method: 'DELETE', path: '/containers/:id/files/:name', tag: 'containers', auth: 'user', summary: 'Delete one file', responses: { 200: S.Ok }, errors: [400, 404] },
  // ---- admin ----
  { method: 'GET', path: '/admin/users', tag: 'admin', auth: 'admin', summary: 'Every account', responses: { 200: list('users', Type.Object({ id: Type.Integer(), username: Type.String(), containers: Type.Integer() })) } },
  { method: 'DELETE', path: '/admin/users/:id', tag: 'admin', auth: 'admin', summary: 'Delete an account (its containers are released)', responses: { 200: Type.Object({ ok: Type.Literal(true), released: Type.Array(Type.String()) }) }, errors: [400, 404] },
  { method: 'GET', path: '/admin/registration', tag: 'admin', auth: 'admin', summary: 'The registration mode and the invite codes', responses: { 200: Type.Object({ mode: Type.String(), invites: Type.Array(S.Invite) }) } },
  { method: 'PUT', path: '/admin/registration', tag: 'admin', auth: 'admin', summary: 'Set the registration mode: open, invite or closed', body: S.Bodies.registrationMode, responses: { 200: Type.Object({ mode: Type.String() }) }, errors: [400] },
  { method: 'GET', path: '/admin/invites', tag: 'admin', auth: 'admin', summary: 'Invite codes (without their secrets)', responses: { 200: list('invites', S.Invite) } },
  { method: 'POST', path: '/admin/invites', tag: 'admin', auth: 'admin', summary: 'Make an invite code (shown once)', body: S.Bodies.invite, responses: { 201: Type.Object({ invite: Type.Intersect([S.Invite, Type.Object({ code: Type.String() })]) }) }, errors: [400] },
  { method: 'DELETE', path: '/admin/invites/:id', tag: 'admin', auth: 'admin', summary: 'Withdraw an invite code', responses: { 200: S.Ok }, errors: [404] },
  { method: 'GET', path: '/admin/pool', tag: 'admin', auth: 'admin', summary: 'Every slot of the pool (and on a Swarm its nodes)', responses: { 200: Type.Object({ slots: Type.Array(S.AdminSlot), counts: S.Counts, sizes: Type.Record(Type.String(), Type.Integer()), nodes: Type.Optional(Type.Array(S.Node)) }) } },
  { method: 'POST', path: '/admin/pool/resize', tag: 'admin', auth: 'admin', summary: 'Set the number of slots of a type', body: S.Bodies.resize, responses: { 200: one('result', S.ResizeResult) }, errors: [400, 409] },
  { method: 'POST', path: '/admin/pool/add', tag: 'admin', auth: 'admin', summary: 'Add slots of a type', body: S.Bodies.add, responses: { 200: one('result', S.ResizeResult) }, errors: [400, 409] },
  { method: 'POST', path: '/admin/pool/reinit', tag: 'admin', auth: 'admin', summary: 'Recreate every free container', responses: { 200: one('result', Type.Object({ recreated: Type.Array(Type.String()), skipped: Type.Array(Type.String()) })) } },
  { method: 'DELETE', path: '/admin/containers/:name', tag: 'admin', auth: 'admin', summary: 'Release anyone\'s container', responses: { 200: Type.Object({ ok: Type.Literal(true), name: Type.String(), user: Type.String() }) }, errors: [404, 409] },
  { method: 'DELETE', path: '/admin/slots/:name', tag: 'admin', auth: 'admin', summary: 'Remove a slot from the pool (released first if held)', responses: { 200: Type.Object({ ok: Type.Literal(true), name: Type.String(), released: Type.Union([Type.String(), Type.Null()]) }) }, errors: [404, 409] },
  { method: 'POST', path: '/admin/slots/:name/restart', tag: 'admin', auth: 'admin', summary: 'Restart one slot\'s container (the supervisor brings it back)', responses: { 200: Type.Object({ ok: Type.Literal(true), name: Type.String() }) }, errors: [404, 409] },
  { method: 'POST', path: '/admin/slots/:name/recreate', tag: 'admin', auth: 'admin', summary: 'Recreate one slot\'s container from its image (files are kept)', responses: { 200: Type.Object({ ok: Type.Literal(true), name: Type.String() }) }, errors: [404, 409] },
  { method: 'GET', path: '/admin/history', tag: 'admin', auth: 'admin', summary: 'Pool history for the monitor charts (query: hours, up to 48)', responses: { 200: Type.Object({ sampleMs: Type.Integer(), samples: Type.Array(Type.Unknown()) }) }, errors: [400] },
  { method: 'GET', path: '/admin/monitor', tag: 'admin', auth: 'admin', summary: 'Health monitor, recent sweeps and recoveries', responses: { 200: Type.Object({ monitor: S.Monitor, sweeps: Type.Array(S.Sweep), recoveries: Type.Array(Type.Unknown()) }) } },
  { method: 'POST', path: '/admin/monitor/run', tag: 'admin', auth: 'admin', summary: 'Run a health sweep now', responses: { 200: Type.Object({ sweep: S.Sweep, monitor: S.Monitor }) } },
  { method: 'POST', path: '/admin/monitor/pause', tag: 'admin', auth: 'admin', summary: 'Pause the health monitor', responses: { 200: one('monitor', S.Monitor) } },
  { method: 'POST', path: '/admin/monitor/resume', tag: 'admin', auth: 'admin', summary: 'Resume the health monitor', responses: { 200: one('monitor', S.Monitor) } },
  { method: 'PUT', path: '/admin/monitor/interval', tag: 'admin', auth: 'admin', summary: 'Set the health-check interval', body: S.Bodies.interval, responses: { 200: one('monitor', S.Monitor) }, errors: [400] },
  { method: 'GET', path: '/admin/security', tag: 'admin', auth: 'admin', summary: 'Security warnings found at start (exposed sessions, a missing host firewall)', responses: { 200: Type.Object({ warnings: Type.Array(Type.Object({ id: Type.String(), message: Type.String() })) }) } },
  { method: 'GET', path: '/admin/audit', tag: 'admin', auth: 'admin', summary: 'The audit log, newest first (filters: actor, action, target, since, until, ok, before, limit)', responses: { 200: Type.Object({ entries: Type.Array(S.AuditEntry), next: Type.Union([Type.Integer(), Type.Null()]) }) }, errors: [400] },
  { method: 'GET', path: '/openapi.json', tag: 'accounts', auth: 'none', summary: 'This description (OpenAPI 3.1)', responses: { 200: Type.Object({ openapi: Type.String() }) } },
];
