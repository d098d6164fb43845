/**
 * Every state-changing /api request is recorded once its answer is sent: who asked, what route
 * (named by the table below, else `METHOD /path`), the target, the status, and a small detail
 * taken from allow-listed body fields and the answer — never a password or a secret.
 */
import type { Request, RequestHandler } from 'express';
import type { AuthUser } from '../accounts/accounts.ts';
import type { AuditLog } from './audit-log.ts';

const ACTIONS: Record<string, string> = {
  'POST /auth/register': 'user.register',
  'POST /auth/login': 'auth.login',
  'POST /auth/logout': 'auth.logout',
  'POST /tokens': 'token.create',
  'DELETE /tokens/:id': 'token.revoke',
  'POST /me/keys': 'key.add',
  'DELETE /me/keys/:id': 'key.delete',
  'PUT /me/password': 'account.password',
  'DELETE /me/sessions/:id': 'account.session.end',
  'DELETE /me': 'account.delete',
  'POST /containers': 'container.launch',
  'DELETE /containers/:id': 'container.release',
  'POST /containers/:id/files': 'files.upload',
  'DELETE /containers/:id/files/:name': 'files.delete',
  'DELETE /admin/users/:id': 'admin.user.delete',
  'POST /admin/pool/resize': 'admin.pool.resize',
  'POST /admin/pool/add': 'admin.pool.add',
  'POST /admin/pool/reinit': 'admin.pool.reinit',
  'DELETE /admin/containers/:name': 'admin.container.release',
  'DELETE /admin/slots/:name': 'admin.slot.remove',
  'POST /admin/monitor/run': 'admin.monitor.run',
  'POST /admin/monitor/pause': 'admin.monitor.pause',
  'POST /admin/monitor/resume': 'admin.monitor.resume',
  'PUT /admin/monitor/interval': 'admin.monitor.interval',
};

/** Body fields worth keeping; everything else (passwords, keys, codes) stays out. */
const BODY_FIELDS = ['type', 'size', 'count', 'name', 'seconds', 'username', 'email', 'mode'];
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function auditedAction(method: string, routePath: string): string {
  return ACTIONS[`${method} ${routePath}`] ?? `${method} ${routePath}`;
}

export function auditRequests(audit: AuditLog, userOf: (req: Request) => AuthUser | null): RequestHandler {
  return (req, res, next) => {
    if (SAFE.has(req.method)) return next();
    const underAdmin = /^\/api\/admin(\/|$)/.test(req.originalUrl);
    let answer: unknown;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      answer = body;
      return json(body);
    };
    res.on('finish', () => {
      const route = (req as Request & { route?: { path?: unknown } }).route;
      if (typeof route?.path !== 'string') return; // no route matched: nothing was done
      const action = auditedAction(req.method, (underAdmin ? '/admin' : '') + route.path);
      const user = userOf(req);
      const body = isRecord(req.body) ? req.body : {};
      const triedName = typeof body.username === 'string' ? body.username.slice(0, 64) : null;
      const ok = res.statusCode < 400;
      audit.record({
        actorId: user?.id ?? null,
        actor: user?.username ?? triedName ?? 'anonymous',
        action,
        target: targetOf(req.params, answer),
        ok,
        status: res.statusCode,
        ip: req.ip ?? req.socket.remoteAddress ?? null,
        detail: detailOf(body, answer, ok),
      });
    });
    next();
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function targetOf(params: Record<string, unknown>, answer: unknown): string | null {
  const container = isRecord(answer) && isRecord(answer.container) ? answer.container : null;
  if (container && typeof container.name === 'string') return container.name;
  const param = params.name ?? params.id;
  return typeof param === 'string' ? param.slice(0, 128) : null;
}

function detailOf(body: Record<string, unknown>, answer: unknown, ok: boolean): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  for (const key of BODY_FIELDS) {
    const value = body[key];
    if (typeof value === 'number' || typeof value === 'boolean') detail[key] = value;
    else if (typeof value === 'string') detail[key] = value.slice(0, 128);
  }
  if (!isRecord(answer)) return detail;
  if (!ok && typeof answer.error === 'string') detail.error = answer.error.slice(0, 300);
  if (Array.isArray(answer.files)) {
    detail.files = answer.files.slice(0, 50).filter(isRecord).map((f) => ({ name: f.name, size: f.size }));
  }
  if (isRecord(answer.container) && typeof answer.container.id === 'number') detail.assignment = answer.container.id;
  for (const key of ['released', 'user', 'id'] as const) {
    if (answer[key] !== undefined && (typeof answer[key] !== 'object' || Array.isArray(answer[key]))) detail[key] = answer[key];
  }
  if (isRecord(answer.result)) {
    for (const key of ['added', 'retired', 'kept', 'recreated', 'skipped'] as const) if (answer.result[key] !== undefined) detail[key] = answer.result[key];
  }
  return detail;
}
