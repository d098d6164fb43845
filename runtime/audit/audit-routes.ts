/** GET /api/admin/audit: the audit log, newest first, with filters (admins only). */
import { Router } from 'express';
import { adminOf } from '../http/auth.ts';
import { RequestError } from '../http/request-error.ts';
import type { AuditQuery } from '../store/audit-store.ts';
import type { AuditLog } from './audit-log.ts';

function text(value: unknown, key: string, max = 128): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max || /[\x00-\x1f\x7f]/.test(value)) throw new RequestError(400, `"${key}" must be text of at most ${max} characters`);
  return value;
}

function date(value: unknown, key: string): Date | undefined {
  const raw = text(value, key, 64);
  if (raw === undefined) return undefined;
  const parsed = /^\d+$/.test(raw) ? new Date(Date.now() - Number(raw) * 1000) : new Date(raw);
  if (Number.isNaN(parsed.getTime())) throw new RequestError(400, `"${key}" must be an ISO date (2026-11-29T10:00:00Z) or a number of seconds ago`);
  return parsed;
}

function whole(value: unknown, key: string, min: number, max: number): number | undefined {
  const raw = text(value, key, 16);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new RequestError(400, `"${key}" must be a whole number from ${min} to ${max}`);
  return Number(raw);
}

export function parseAuditQuery(query: Record<string, unknown>): AuditQuery {
  const ok = text(query.ok, 'ok', 5);
  if (ok !== undefined && ok !== 'true' && ok !== 'false') throw new RequestError(400, '"ok" must be true or false');
  return {
    actor: text(query.actor, 'actor'),
    action: text(query.action, 'action'),
    target: text(query.target, 'target'),
    since: date(query.since, 'since'),
    until: date(query.until, 'until'),
    ok: ok === undefined ? undefined : ok === 'true',
    before: whole(query.before, 'before', 1, Number.MAX_SAFE_INTEGER),
    limit: whole(query.limit, 'limit', 1, 1000) ?? 100,
  };
}

export function auditRoutes(audit: AuditLog): Router {
  const router = Router();
  router.get('/audit', async (req, res) => {
    adminOf(req);
    const query = parseAuditQuery(req.query as Record<string, unknown>);
    const entries = await audit.list(query);
    // `next` is the `before` that fetches the following (older) page, when there may be one.
    res.json({ entries, next: entries.length === query.limit ? entries[entries.length - 1]!.id : null });
  });
  return router;
}
