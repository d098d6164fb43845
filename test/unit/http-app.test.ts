import test from 'ava';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Accounts } from '../../runtime/accounts/accounts.ts';
import { loadConfig } from '../../runtime/config.ts';
import { createHttpApp } from '../../runtime/http/app.ts';
import { silentLogger } from '../../runtime/logger.ts';
import type { PoolRuntime } from '../../runtime/pool/pool-runtime.ts';
import { openDb } from '../../runtime/store/db.ts';
import { AuditLog } from '../../runtime/audit/audit-log.ts';
import { SelfService } from '../../runtime/accounts/self-service.ts';
import { SqliteAuditStore } from '../../runtime/store/audit-store.ts';

test('When the pool has not started yet, then pool routes answer 503 while account routes already work', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-http-app-'));
  const config = loadConfig({ POOLDECK_DATA: dataDir, POOLDECK_POOL: '', POOLDECK_UI_DIR: path.join(dataDir, 'no-ui') });
  const db = await openDb(':memory:');
  const accounts = await Accounts.open(db, { adminPassword: 'admin-password' }, silentLogger);
  const runtime = Object.assign(new EventEmitter(), { counts: () => { throw new Error('not started'); } }) as unknown as PoolRuntime;
  const state = { ready: false, error: null };
  const self = new SelfService(db, accounts, runtime, silentLogger);
  await self.init();
  const app = await createHttpApp({ config, db, runtime, store: {} as never, files: {} as never, engine: {} as never, log: silentLogger, accounts, audit: new AuditLog(new SqliteAuditStore(db), silentLogger, { retentionDays: 0 }), self, state });
  const http = createServer(app.handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  try {
    const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password' }) });
    t.is(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    for (const route of ['/api/pool', '/api/containers', '/api/containers/1/files', '/api/admin/pool']) {
      const reply = await fetch(base + route, { headers: { cookie } });
      t.is(reply.status, 503, route);
      t.deepEqual(await reply.json(), { error: 'the pool is starting; try again shortly' });
    }
    t.is((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 200);
    t.is((await fetch(`${base}/api/tokens`, { headers: { cookie } })).status, 200);
    t.is((await fetch(`${base}/healthz`)).status, 503);
    const page = await fetch(`${base}/dashboard`);
    t.is(page.status, 404, 'no UI built: a JSON 404');
    t.deepEqual(await page.json(), { error: 'not found' });
  } finally {
    http.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
