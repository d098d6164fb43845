/**
 * GET /api/openapi.json on a real server: a valid OpenAPI 3.1 document (checked by a third-party
 * parser), naming every route the server has, and every route's real answers match it.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { API_ROUTES } from '../../runtime/http/api/routes.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, form, newTokenUser, newUser, type Reply } from './client.ts';

let deck: TestDeck;
let doc: any;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,ssh=1' });
  doc = (await new Client(deck.url).get('/api/openapi.json')).body;
});

test.after.always(async () => {
  await deck?.destroy();
});

test.serial('When the OpenAPI document is fetched without logging in, then a third-party parser validates it as OpenAPI 3.1', async (t) => {
  t.is(doc.openapi, '3.1.0');
  const api = await SwaggerParser.validate(structuredClone(doc));
  t.truthy(api.paths);
  t.is(Object.values(doc.paths).flatMap((item: any) => Object.keys(item)).length, API_ROUTES.length);
});

/** Every `router.<method>('/path'` in the route modules, with its mount prefix. */
function routesInSource(): string[] {
  const found: string[] = [];
  const dirs = ['runtime/http', 'runtime/audit'];
  for (const dir of dirs) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(path.join(dir, file), 'utf8');
      const prefix = file === 'history-routes.ts' ? '/admin/history' : /admin|audit-routes/.test(file) ? '/admin' : '';
      for (const m of source.matchAll(/router\.(get|post|put|delete|patch)\('([^']+)'/g)) {
        if (file === 'metrics.ts') continue;
        found.push(`${m[1]!.toUpperCase()} ${prefix}${m[2] === '/' && prefix ? '' : m[2]}`);
      }
    }
  }
  return found.sort();
}

test.serial('When the route modules are read, then every /api route they declare is in the document, and nothing else is', (t) => {
  const documented = API_ROUTES.filter((r) => r.path !== '/openapi.json').map((r) => `${r.method} ${r.path}`).sort();
  t.deepEqual(routesInSource(), documented);
  for (const route of API_ROUTES) t.truthy(doc.paths[`/api${route.path.replace(/:(\w+)/g, '{$1}')}`]?.[route.method.toLowerCase()], `${route.method} ${route.path}`);
});

// Formats (date-time) are documentation here; the shapes are what is checked.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const seen = new Set<string>();

/** Check one real answer against what the document says this route answers with this status. */
function conforms(t: any, method: string, template: string, reply: Reply) {
  const operation = doc.paths[`/api${template}`]?.[method.toLowerCase()];
  t.truthy(operation, `${method} ${template} is documented`);
  const documented = operation?.responses?.[String(reply.status)];
  t.truthy(documented, `${method} ${template} answered ${reply.status}, which the document does not list (${JSON.stringify(reply.body).slice(0, 200)})`);
  const schema = documented?.content?.['application/json']?.schema;
  if (!schema) return;
  const ok = ajv.validate(schema, reply.body);
  t.true(ok, `${method} ${template} ${reply.status}: ${ajv.errorsText(ajv.errors)} in ${JSON.stringify(reply.body).slice(0, 300)}`);
  seen.add(`${method} ${template.replace(/\{(\w+)\}/g, ':$1')}`);
}

test.serial('When every route is called as a user, an admin and nobody, then each real answer matches the document', async (t) => {
  const nobody = new Client(deck.url);
  const user = await newUser(deck, 'oa');
  const tokenUser = await newTokenUser(deck, 'ob');
  const admin = await adminClient(deck);
  const call = async (client: Client, method: string, template: string, path: string, body?: unknown) => {
    const reply = await client.call(method, `/api${path}`, body);
    conforms(t, method, template, reply);
    return reply;
  };

  const registerName = `oc${Date.now() % 100000}`;
  await call(nobody, 'POST', '/auth/register', '/auth/register', { username: registerName, email: `${registerName}@example.test`, password: 'long enough password' });
  await call(nobody, 'POST', '/auth/register', '/auth/register', { username: registerName });
  await call(nobody, 'POST', '/auth/login', '/auth/login', { username: registerName, password: 'wrong wrong wrong' });
  const other = new Client(deck.url);
  await call(other, 'POST', '/auth/login', '/auth/login', { username: registerName, password: 'long enough password' });
  await call(nobody, 'GET', '/me', '/me');
  await call(nobody, 'GET', '/auth/registration', '/auth/registration');
  await call(nobody, 'GET', '/session', '/session');
  await call(user, 'GET', '/session', '/session');
  await call(user, 'GET', '/me', '/me');
  await call(user, 'GET', '/pool', '/pool');
  await call(nobody, 'GET', '/openapi.json', '/openapi.json');

  const launched = await call(user, 'POST', '/containers', '/containers', { type: 'nginx' });
  await call(user, 'POST', '/containers', '/containers', { type: 'mysql' });
  await call(user, 'POST', '/containers', '/containers', {});
  const id = launched.body.container.id as number;
  await call(user, 'GET', '/containers', '/containers');
  await call(user, 'GET', '/containers/{id}', `/containers/${id}`);
  await call(tokenUser, 'GET', '/containers/{id}', `/containers/${id}`);
  await call(user, 'POST', '/containers/{id}/files', `/containers/${id}/files`, form({ 'index.html': '<h1>doc</h1>' }));
  await call(user, 'GET', '/containers/{id}/files', `/containers/${id}/files`);
  await call(user, 'DELETE', '/containers/{id}/files/{name}', `/containers/${id}/files/index.html`);
  await call(user, 'GET', '/containers/{id}/credentials', `/containers/${id}/credentials`);
  const ssh = await call(tokenUser, 'POST', '/containers', '/containers', { type: 'ssh' });
  await call(tokenUser, 'GET', '/containers/{id}/credentials', `/containers/${ssh.body.container.id}/credentials`);
  await call(user, 'DELETE', '/containers/{id}', `/containers/${id}`);

  const token = await call(user, 'POST', '/tokens', '/tokens', { name: 'docs' });
  await call(user, 'GET', '/tokens', '/tokens');
  await call(user, 'DELETE', '/tokens/{id}', `/tokens/${token.body.id}`);
  await call(user, 'DELETE', '/tokens/{id}', `/tokens/${token.body.id}`);
  await call(user, 'POST', '/me/keys', '/me/keys', { key: 'not a key' });
  const key = await call(user, 'POST', '/me/keys', '/me/keys', { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl docs@example' });
  await call(user, 'GET', '/me/keys', '/me/keys');
  await call(user, 'DELETE', '/me/keys/{id}', `/me/keys/${key.body.key?.id ?? 999}`);
  const sessions = await call(other, 'GET', '/me/sessions', '/me/sessions');
  await call(other, 'PUT', '/me/password', '/me/password', { current: 'long enough password', password: 'an even longer password' });
  await call(other, 'PUT', '/me/password', '/me/password', { current: 'wrong', password: 'an even longer password' });
  await call(other, 'DELETE', '/me/sessions/{id}', `/me/sessions/${sessions.body.sessions.length ? 999999 : 1}`);

  await call(user, 'GET', '/admin/users', '/admin/users');
  await call(nobody, 'GET', '/admin/users', '/admin/users');
  await call(admin, 'GET', '/admin/users', '/admin/users');
  await call(admin, 'GET', '/admin/pool', '/admin/pool');
  await call(admin, 'GET', '/admin/security', '/admin/security');
  await call(admin, 'GET', '/admin/history', '/admin/history?hours=1');
  await call(admin, 'GET', '/admin/history', '/admin/history?hours=100');
  /** A free nginx slot with a container, if any (restarts, recreates and resizes leave some being built). */
  const freeNginx = () => deck.runtime.slots().find((s) => s.type === 'nginx' && s.state === 'available' && s.containerId);
  const free = freeNginx()!;
  await call(admin, 'POST', '/admin/slots/{name}/restart', `/admin/slots/${free.name}/restart`, {});
  await call(admin, 'POST', '/admin/slots/{name}/restart', '/admin/slots/pool_nope_0_1/restart', {});
  await eventually(() => freeNginx() !== undefined, 60_000);
  const again = freeNginx()!;
  await call(admin, 'POST', '/admin/slots/{name}/recreate', `/admin/slots/${again.name}/recreate`, {});
  await call(admin, 'GET', '/admin/registration', '/admin/registration');
  await call(admin, 'PUT', '/admin/registration', '/admin/registration', { mode: 'sometimes' });
  await call(admin, 'PUT', '/admin/registration', '/admin/registration', { mode: 'open' });
  const invite = await call(admin, 'POST', '/admin/invites', '/admin/invites', { uses: 2, note: 'docs' });
  await call(admin, 'POST', '/admin/invites', '/admin/invites', { uses: 0 });
  await call(admin, 'GET', '/admin/invites', '/admin/invites');
  await call(admin, 'DELETE', '/admin/invites/{id}', `/admin/invites/${invite.body.invite?.id ?? 999}`);
  await call(admin, 'DELETE', '/admin/invites/{id}', `/admin/invites/${invite.body.invite?.id ?? 999}`);
  await call(admin, 'POST', '/admin/pool/resize', '/admin/pool/resize', { type: 'nginx', size: 3 });
  await call(admin, 'POST', '/admin/pool/resize', '/admin/pool/resize', { type: 'nginx', size: 'three' });
  await call(admin, 'POST', '/admin/pool/add', '/admin/pool/add', { type: 'nginx', count: 1 });
  await call(admin, 'GET', '/admin/monitor', '/admin/monitor');
  await call(admin, 'POST', '/admin/monitor/run', '/admin/monitor/run', {});
  await call(admin, 'POST', '/admin/monitor/pause', '/admin/monitor/pause', {});
  await call(admin, 'POST', '/admin/monitor/resume', '/admin/monitor/resume', {});
  await call(admin, 'PUT', '/admin/monitor/interval', '/admin/monitor/interval', { seconds: 30 });
  await call(admin, 'PUT', '/admin/monitor/interval', '/admin/monitor/interval', { seconds: 0 });
  await call(admin, 'GET', '/admin/audit', '/admin/audit?limit=5');
  await call(admin, 'GET', '/admin/audit', '/admin/audit?limit=0');
  // The resize, add and recreate above leave slots being built: launch once one is free.
  await eventually(() => freeNginx() !== undefined, 60_000);
  const held = await call(tokenUser, 'POST', '/containers', '/containers', { type: 'nginx' });
  t.is(held.status, 201, JSON.stringify(held.body));
  await call(admin, 'DELETE', '/admin/containers/{name}', `/admin/containers/${held.body.container.name}`);
  await call(admin, 'DELETE', '/admin/containers/{name}', `/admin/containers/${held.body.container.name}`);
  await call(admin, 'DELETE', '/admin/slots/{name}', `/admin/slots/${held.body.container.name}`);
  await call(admin, 'POST', '/admin/pool/reinit', '/admin/pool/reinit', {});
  const victim = await newUser(deck, 'od');
  const victimId = (await victim.get('/api/me')).body.user.id;
  await call(admin, 'DELETE', '/admin/users/{id}', `/admin/users/${victimId}`);
  await call(admin, 'DELETE', '/admin/users/{id}', `/admin/users/${victimId}`);
  await call(user, 'DELETE', '/me', '/me', { password: 'correct horse battery' });
  await call(user, 'POST', '/auth/logout', '/auth/logout', {});

  const missing = API_ROUTES.map((r) => `${r.method} ${r.path}`).filter((r) => !seen.has(r));
  t.deepEqual(missing, [], 'every documented route was called');
});

test.serial('When a body breaks the schema, then the answer is 400 with one sentence naming the field', async (t) => {
  const admin = await adminClient(deck);
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['POST', '/api/containers', {}, /^missing field: type$/],
    ['POST', '/api/containers', { type: 7 }, /^"type" must be a string$/],
    ['POST', '/api/containers', { type: 'x'.repeat(65) }, /^"type" is too long \(at most 64 characters\)$/],
    ['POST', '/api/auth/register', { username: '' }, /^missing fields: username, email, password$/],
    ['POST', '/api/admin/pool/resize', { type: 'nginx', size: 1.5 }, /^"size" must be a whole number$/],
    ['PUT', '/api/admin/monitor/interval', { seconds: 90_000 }, /^"seconds" must be from 1 to 86400$/],
    ['POST', '/api/containers', [1, 2], /^the request body must be a JSON object$/],
    ['POST', '/api/containers', { type: 'ngi\u001b[31mnx' }, /^"type" must not contain control characters$/],
  ];
  for (const [method, path, body, message] of cases) {
    const reply = await admin.call(method, path, body);
    t.is(reply.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.regex(reply.body.error, message);
  }
});
