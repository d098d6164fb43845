/**
 * Every state-changing /api request is recorded once its answer is sent: who asked, what route
 * (named by the table below, else `METHOD /path`), the target, the status, and a small detail
 * taken from allow-listed body fields and the answer — never a password or a secret. The row
 * itself is built by `recordAction` (actions.ts), as for socket.io commands (socket-audit.ts).
 */
import type { Request, RequestHandler } from 'express';
import type { AuthUser } from '../accounts/accounts.ts';
import { recordAction } from './actions.ts';
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
  'PUT /admin/registration': 'admin.registration.mode',
  'POST /admin/invites': 'admin.invite.create',
  'DELETE /admin/invites/:id': 'admin.invite.delete',
  'POST /admin/pool/resize': 'admin.pool.resize',
  'POST /admin/pool/add': 'admin.pool.add',
  'POST /admin/pool/reinit': 'admin.pool.reinit',
  'DELETE /admin/containers/:name': 'admin.container.release',
  'DELETE /admin/slots/:name': 'admin.slot.remove',
  'POST /admin/slots/:name/restart': 'admin.slot.restart',
  'POST /admin/slots/:name/recreate': 'admin.slot.recreate',
  'POST /admin/monitor/run': 'admin.monitor.run',
  'POST /admin/monitor/pause': 'admin.monitor.pause',
  'POST /admin/monitor/resume': 'admin.monitor.resume',
  'PUT /admin/monitor/interval': 'admin.monitor.interval',
};

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
      recordAction(audit, {
        via: 'http',
        user: userOf(req),
        action: auditedAction(req.method, (underAdmin ? '/admin' : '') + route.path),
        input: req.body,
        params: req.params,
        answer,
        ok: res.statusCode < 400,
        status: res.statusCode,
        ip: req.ip ?? req.socket.remoteAddress ?? null,
      });
    });
    next();
  };
}
