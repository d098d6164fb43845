/** Which configurations expose sessions to containers, and the pool bridge's interface name. */
import test from 'ava';
import { loadConfig } from '../../runtime/config.ts';
import { bridgeName } from '../../runtime/security/host-firewall.ts';
import { sessionExposure } from '../../runtime/security/session-exposure.ts';

const config = (env: Record<string, string>) => loadConfig({ POOLDECK_POOL: 'nginx=1', ...env });

test('When Pooldeck runs with make run\'s defaults, then containers get an address of their own and sessions are not exposed', (t) => {
  const c = config({});
  t.is(c.bind, '127.0.0.2');
  t.is(c.publicHost, '127.0.0.2');
  t.deepEqual(sessionExposure(c), []);
});

test('When the containers share the dashboard\'s address or host name, then each way is named', (t) => {
  t.regex(sessionExposure(config({ POOLDECK_BIND: '0.0.0.0' })).join(' '), /every address/);
  t.regex(sessionExposure(config({ POOLDECK_BIND: '127.0.0.1', POOLDECK_HOST: '127.0.0.1' })).join(' '), /share the address 127\.0\.0\.1/);
  t.regex(sessionExposure(config({ POOLDECK_PUBLIC_HOST: 'localhost' })).join(' '), /host name "localhost"/);
  t.regex(sessionExposure(config({ POOLDECK_BIND: '127.0.0.1' })).join(' '), /the address "localhost" names/);
  t.deepEqual(sessionExposure(config({ POOLDECK_BIND: '203.0.113.20', POOLDECK_PUBLIC_HOST: 'c.example.com' })), [], 'production: a second address and name');
});

test('When a pool is named, then its bridge is pd-<pool> within 15 characters, distinct for long names', (t) => {
  t.is(bridgeName('pooldeck'), 'pd-pooldeck');
  const a = bridgeName('t123456x7890123');
  const b = bridgeName('t123456x7890124');
  t.true(a.length <= 15 && b.length <= 15);
  t.not(a, b);
  t.regex(a, /^pd-[a-z0-9_-]+$/);
});
