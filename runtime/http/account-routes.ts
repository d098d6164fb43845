/** /api/me: a user's own account — password, sessions, deleting it. */
import { Router, type Request } from 'express';
import { readCookie, SESSION_COOKIE } from '../accounts/accounts.ts';
import type { SelfService } from '../accounts/self-service.ts';
import { clearSessionCookie, identityOf, userOf } from './auth.ts';
import { idParam } from './validate.ts';
import { validBody } from './api/request-validation.ts';
import { Bodies } from './api/schemas.ts';

const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? '';
/** The session secret this request came with, if it was authenticated by one. */
const sessionToken = (req: Request) => (identityOf(req)?.via === 'session' ? readCookie(req.headers.cookie, SESSION_COOKIE) : null);

export function accountRoutes(self: SelfService): Router {
  const router = Router();

  router.put('/me/password', async (req, res) => {
    const user = userOf(req);
    const { current, password } = validBody(req, Bodies.passwordChange);
    const { endedSessions } = await self.changePassword(user, current, password, clientIp(req), sessionToken(req));
    res.json({ ok: true, endedSessions });
  });

  router.get('/me/sessions', async (req, res) => {
    res.json({ sessions: await self.listSessions(userOf(req), sessionToken(req)) });
  });

  router.delete('/me/sessions/:id', async (req, res) => {
    const user = userOf(req);
    const id = idParam(req.params.id, 'session');
    const current = (await self.listSessions(user, sessionToken(req))).find((s) => s.id === id)?.current ?? false;
    await self.endSession(user, id);
    if (current) clearSessionCookie(req, res);
    res.json({ ok: true, current });
  });

  router.delete('/me', async (req, res) => {
    const user = userOf(req);
    const { password } = validBody(req, Bodies.accountDelete);
    const released = await self.deleteAccount(user, password, clientIp(req));
    clearSessionCookie(req, res);
    res.json({ ok: true, released });
  });

  return router;
}
