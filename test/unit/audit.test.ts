import test from 'ava';
import { AuditLog } from '../../runtime/audit/audit-log.ts';
import { auditedAction } from '../../runtime/audit/http-audit.ts';
import { clientAddress } from '../../runtime/audit/socket-audit.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { SqliteAuditStore } from '../../runtime/store/audit-store.ts';
import { openDb } from '../../runtime/store/db.ts';

test('When rows are older than the retention, then pruning removes them and keeps the rest', async (t) => {
  const db = await openDb(':memory:');
  let now = Date.parse('2026-11-01T00:00:00Z');
  const audit = new AuditLog(new SqliteAuditStore(db), silentLogger, { retentionDays: 30, now: () => now });
  await audit.start();
  audit.record({ actorId: 1, actor: 'ann', action: 'auth.login', ok: true });
  now += 20 * 86_400_000;
  audit.record({ actorId: 1, actor: 'ann', action: 'container.launch', ok: true });
  await audit.flush();
  now += 15 * 86_400_000;
  t.is(await audit.prune(), 1);
  t.deepEqual((await audit.list({ limit: 10 })).map((e) => e.action), ['container.launch']);
  await audit.stop();
  await db.close();
});

test('When many rows are recorded in one turn, then they are written together and listed newest first with action prefixes', async (t) => {
  const db = await openDb(':memory:');
  const audit = new AuditLog(new SqliteAuditStore(db), silentLogger, { retentionDays: 0 });
  await audit.start();
  for (let i = 0; i < 300; i++) audit.record({ actorId: null, actor: 'system', action: i % 2 ? 'pool.recovered' : 'admin.pool.resize', target: `s${i}`, ok: true });
  const admin = await audit.list({ action: 'admin.*', limit: 1000 });
  t.is(admin.length, 150);
  t.is(admin[0]!.target, 's298');
  t.is((await audit.list({ action: 'admin.', limit: 1000 })).length, 150);
  t.is((await audit.list({ action: 'pool.recovered', limit: 5 })).length, 5);
  t.is((await audit.list({ action: 'admin', limit: 5 })).length, 0, 'a bare word is an exact action, not a prefix');
  await audit.stop();
  await db.close();
});

test('When a route is not in the table, then its action is named by method and route', (t) => {
  t.is(auditedAction('POST', '/admin/pool/resize'), 'admin.pool.resize');
  t.is(auditedAction('POST', '/admin/invites'), 'admin.invite.create');
  t.is(auditedAction('POST', '/admin/slots/:name/restart'), 'admin.slot.restart');
  t.is(auditedAction('POST', '/admin/no-such-route'), 'POST /admin/no-such-route');
});

test('When a socket comes through a trusted proxy, then its address is the hop the proxy vouches for, as for HTTP', (t) => {
  const handshake = { address: '10.0.0.9', headers: { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' } };
  t.is(clientAddress(handshake, false), '10.0.0.9', 'no proxy trusted: the peer');
  t.is(clientAddress(handshake, true), '203.0.113.7', 'every proxy trusted: the first address');
  t.is(clientAddress(handshake, 1), '198.51.100.2', 'one hop trusted: the one that hop added');
  t.is(clientAddress(handshake, 5), '203.0.113.7');
  t.is(clientAddress({ address: '10.0.0.9', headers: {} }, true), '10.0.0.9', 'no header: the peer');
});
