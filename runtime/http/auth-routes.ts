/** Accounts over HTTP: register, login/logout, the caller's profile, API tokens and SSH keys. */
import { Router, type Request } from 'express';
import type { Accounts } from '../accounts/accounts.ts';
import type { SelfService } from '../accounts/self-service.ts';
import { clearSessionCookie, identityOf, setSessionCookie, userOf } from './auth.ts';
import { idParam } from './validate.ts';
import { validBody } from './api/request-validation.ts';
import { Bodies } from './api/schemas.ts';

/** The client's address (X-Forwarded-For only behind a trusted proxy, see POOLDECK_TRUST_PROXY). */
const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? '';

export function authRoutes(accounts: Accounts, self: SelfService): Router {
  const router = Router();

  router.get('/auth/registration', async (_req, res) => {
    res.json({ mode: await accounts.registration.mode() });
  });

  router.post('/auth/register', async (req, res) => {
    const { invite, ...input } = validBody(req, Bodies.register);
    const user = await accounts.register({ ...input, invite: invite || undefined }, clientAddress(req));
    res.status(201).json({ user });
  });

  router.post('/auth/login', async (req, res) => {
    const { username, password } = validBody(req, Bodies.login);
    const session = await accounts.login(username, password, clientAddress(req));
    await accounts.logout(req.headers.cookie); // a session this browser held before ends here
    await self.describeSession(session.token, req.ip ?? req.socket.remoteAddress ?? null, req.headers['user-agent'] ?? null);
    setSessionCookie(req, res, session.token);
    res.json({ user: session.user, expires_at: session.expiresAt.toISOString() });
  });

  router.post('/auth/logout', async (req, res) => {
    if (identityOf(req)?.via === 'session') await accounts.logout(req.headers.cookie);
    clearSessionCookie(req, res);
    res.json({ ok: true });
  });

  // The dashboard's first question: 200 with `user: null` for a visitor, so nobody sees an error for not being logged in yet.
  router.get('/session', (req, res) => {
    res.json({ user: identityOf(req)?.user ?? null });
  });

  router.get('/me', (req, res) => {
    res.json({ user: userOf(req) });
  });

  router.get('/tokens', async (req, res) => {
    res.json({ tokens: await accounts.listTokens(userOf(req).id) });
  });

  router.post('/tokens', async (req, res) => {
    const user = userOf(req);
    const { name } = validBody(req, Bodies.tokenCreate);
    const created = await accounts.createToken(user.id, name);
    res.status(201).json({ token: created.token, id: created.id, name: created.name, created_at: created.created_at, note: 'this is the only time the token is shown' });
  });

  router.delete('/tokens/:id', async (req, res) => {
    const user = userOf(req);
    await accounts.revokeToken(user.id, idParam(req.params.id, 'token'));
    res.json({ ok: true });
  });

  router.get('/me/keys', async (req, res) => {
    res.json({ keys: await accounts.listKeys(userOf(req).id) });
  });

  router.post('/me/keys', async (req, res) => {
    const user = userOf(req);
    const { key } = validBody(req, Bodies.keyAdd);
    res.status(201).json({ key: await accounts.addKey(user.id, key) });
  });

  router.delete('/me/keys/:id', async (req, res) => {
    const user = userOf(req);
    await accounts.deleteKey(user.id, idParam(req.params.id, 'key'));
    res.json({ ok: true });
  });

  return router;
}
