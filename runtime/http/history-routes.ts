/** GET /api/admin/history?hours=N: the monitor's charts start from this (admins only). */
import { Router } from 'express';
import type { PoolHistory } from '../history/pool-history.ts';
import { RequestError } from './request-error.ts';
import { adminOf } from './auth.ts';

export function historyRoutes(history: PoolHistory): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    adminOf(req);
    const raw = req.query.hours ?? '24';
    const hours = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(hours > 0 && hours <= 48)) throw new RequestError(400, 'hours must be a number above 0 and at most 48');
    res.json({ sampleMs: history.options.sampleMs, samples: await history.recent(hours * 3600_000) });
  });
  return router;
}
