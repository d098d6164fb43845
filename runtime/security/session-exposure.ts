/**
 * The dashboard's session must never reach a user container. Browsers send a host-only cookie
 * to every port of the host name it was set for, so the only thing that separates the dashboard
 * from the containers is the host name (and the address behind it):
 *
 * - containers are published on POOLDECK_BIND and handed out as POOLDECK_PUBLIC_HOST, which
 *   must be neither the dashboard's address nor its host name (default: 127.0.0.2, while the
 *   dashboard is opened as http://localhost:5000, i.e. 127.0.0.1 / ::1);
 * - the dashboard refuses (403) requests that arrive at the containers' address or name, so no
 *   session cookie is ever set for them.
 *
 * A configuration that puts both on one address (tests and the Swarm lab on 127.0.0.1, or
 * POOLDECK_BIND=0.0.0.0) still starts, with a loud warning in the log and on the admin page.
 */
import type { RequestHandler } from 'express';
import { isWildcard, type Config } from '../config.ts';

const normalize = (address: string) => address.replace(/^::ffff:/, '').toLowerCase();
/** What the name "localhost" resolves to. */
const LOCALHOST = ['127.0.0.1', '::1'];

/** Why sessions are exposed to containers under this configuration; empty when they are not. */
export function sessionExposure(config: Pick<Config, 'bind' | 'host' | 'publicHost'>): string[] {
  const reasons: string[] = [];
  const publicHost = config.publicHost.toLowerCase();
  if (isWildcard(config.bind)) {
    reasons.push(`containers are published on every address of this host (POOLDECK_BIND=${config.bind}), the dashboard's included, so http://<dashboard host>:<container port>/ reaches a container`);
  } else if (normalize(config.bind) === normalize(config.host)) {
    reasons.push(`the dashboard and the containers share the address ${config.bind} (POOLDECK_HOST = POOLDECK_BIND)`);
  } else if (isWildcard(config.host) && LOCALHOST.includes(normalize(config.bind))) {
    reasons.push(`containers are published on ${config.bind}, the address "localhost" names, where the dashboard (listening on every address) is usually opened`);
  }
  if (publicHost === 'localhost' || publicHost === normalize(config.host)) {
    reasons.push(`container URLs use the host name "${config.publicHost}" (POOLDECK_PUBLIC_HOST), which also reaches the dashboard`);
  }
  return reasons;
}

export function exposureMessage(reasons: string[]): string {
  return (
    `Sessions are exposed to user containers: ${reasons.join('; ')}. A browser logged in to the dashboard sends its session cookie ` +
    `to such a container, whose holder can read it and act as that user (an admin, too). Publish the containers on an address of their ` +
    `own: leave POOLDECK_BIND unset on one machine (127.0.0.2), or in production give them a second address or host name ` +
    `(POOLDECK_BIND + POOLDECK_PUBLIC_HOST) and serve the dashboard over https — see docs/security.md.`
  );
}

/**
 * Refuse dashboard requests made to the containers' address or host name, so a session cookie is
 * never set for a host name whose ports lead to containers. 403 with a sentence, not 421
 * Misdirected Request, which Chromium answers with an error page of its own. Null when sessions
 * are exposed anyway (the guard would refuse the dashboard itself).
 */
export function containerHostGuard(config: Pick<Config, 'bind' | 'host' | 'publicHost'>): RequestHandler | null {
  if (sessionExposure(config).length > 0) return null;
  const bind = normalize(config.bind);
  const publicHost = config.publicHost.toLowerCase();
  return (req, res, next) => {
    const local = normalize(req.socket.localAddress ?? '');
    const hostname = (req.hostname ?? '').toLowerCase().replace(/^\[|\]$/g, '');
    if (local === bind || hostname === publicHost) {
      res.status(403).type('text/plain').send('This address serves the users\' containers, not the Pooldeck dashboard. Open the dashboard at its own address.\n');
      return;
    }
    next();
  };
}
