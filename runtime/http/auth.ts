/**
 * Who is asking, for every /api request: identify by `Authorization: Bearer pd_…` (API token)
 * or the `pooldeck_session` cookie, refuse cross-site state changes, and give routes
 * `userOf(req)` / `adminOf(req)` that throw 401/403.
 *
 * CSRF rule: a state-changing request (not GET/HEAD/OPTIONS) that carries a session cookie
 * must carry an Origin (or, failing that, Referer) whose host is this request's Host; one that
 * carries no credential but does send a foreign Origin (login CSRF) is refused too. Requests
 * authenticated by token are exempt: browsers never attach a bearer token on their own.
 */
import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, SESSION_TTL_MS, type Accounts, type AuthUser, type Identity } from '../accounts/accounts.ts';
import { RequestError } from './request-error.ts';

const identities = new WeakMap<Request, Identity>();
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function identify(accounts: Accounts): RequestHandler {
  return async (req, _res, next) => {
    const identity = await accounts.identify({ cookie: req.headers.cookie, authorization: req.headers.authorization, secure: req.secure });
    identities.set(req, identity);
    if (identity.via === 'invalid' && req.headers.authorization) throw new RequestError(401, 'the API token is not valid (revoked or mistyped)');
    next();
  };
}

function originHost(req: Request): string | null {
  const source = req.headers.origin ?? req.headers.referer;
  if (!source) return null;
  try {
    return new URL(source).host.toLowerCase();
  } catch {
    return 'invalid';
  }
}

export const csrfGuard: RequestHandler = (req, _res, next) => {
  if (SAFE.has(req.method)) return next();
  const identity = identities.get(req);
  if (identity?.via === 'token') return next();
  // Express 5: req.host is the Host header (X-Forwarded-Host behind a trusted proxy), with the port.
  const host = req.host?.toLowerCase();
  const origin = originHost(req);
  if (identity?.via === 'session' && origin === null) throw new RequestError(403, 'cross-site check failed: a request made with the session cookie must carry an Origin or Referer header; scripts should use an API token');
  if (origin !== null && origin !== host) throw new RequestError(403, 'cross-site check failed: the Origin of this request is not this server');
  next();
};

export function userOf(req: Request): AuthUser {
  const identity = identities.get(req);
  if (!identity?.user) {
    throw new RequestError(401, identity?.via === 'invalid' ? 'your session has expired; log in again' : 'log in or send an API token (Authorization: Bearer pd_…)');
  }
  return identity.user;
}

export function adminOf(req: Request): AuthUser {
  const user = userOf(req);
  if (!user.isAdmin) throw new RequestError(403, 'only an admin may do this');
  return user;
}

export function identityOf(req: Request): Identity | undefined {
  return identities.get(req);
}

/**
 * Host-only (no Domain), so it goes to the dashboard's host name only — which is why containers
 * are handed out under another host name (docs/security.md). Over https: `__Host-`, Secure.
 */
function cookieOptions(req: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' };
}

const cookieName = (req: Request) => (req.secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

export function setSessionCookie(req: Request, res: Response, token: string): void {
  res.cookie(cookieName(req), token, { ...cookieOptions(req), maxAge: SESSION_TTL_MS });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(cookieName(req), cookieOptions(req));
}
