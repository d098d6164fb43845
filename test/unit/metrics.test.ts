/** Metrics fed by runtime events (a plain EventEmitter stands in for the PoolRuntime) and the access rule of GET /metrics. */
import test from 'ava';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Identity } from '../../runtime/accounts/accounts.ts';
import { createMetrics, metricsRoutes } from '../../runtime/http/metrics.ts';
import type { RuntimeEvents } from '../../runtime/pool/pool-runtime.ts';

function fakeRuntime() {
  const runtime = new EventEmitter<RuntimeEvents>() as EventEmitter<RuntimeEvents> & { counts: () => Record<string, Record<string, number>>; started: boolean };
  runtime.started = true;
  runtime.counts = () => {
    if (!runtime.started) throw new TypeError('not started');
    return { nginx: { available: 3, assigned: 2, failed: 1, stopped: 0 } };
  };
  return runtime;
}

/** `name{labels} value` lines of one scrape, as a map. */
async function scrape(metrics: ReturnType<typeof createMetrics>): Promise<Map<string, number>> {
  const text = await metrics.registry.metrics();
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const at = l.lastIndexOf(' ');
    return [l.slice(0, at), Number(l.slice(at + 1))];
  }));
}

test('When the runtime reports launches, recoveries and sweeps, then the counters and histograms move', async (t) => {
  const runtime = fakeRuntime();
  const metrics = createMetrics(runtime as never, { connectedClients: () => 7, processMetrics: false });
  runtime.emit('launch', { type: 'nginx', ok: true, ms: 4 });
  runtime.emit('launch', { type: 'nginx', ok: true, ms: 30 });
  runtime.emit('launch', { type: 'nginx', ok: false, refusal: 'none-free', ms: 1 });
  runtime.emit('recovery', { type: 'recovery.done', name: 'pool_python_2_8202', assignment: { id: 1, userId: 1, username: 'ann', createdAt: 0 }, containerId: 'abc', durationMs: 1500, attempts: 1 });
  runtime.emit('sweep', { at: 0, durationMs: 12, containers: 6, dockerCalls: 1, findings: [], orphans: [] });
  runtime.emit('sweep', { at: 0, durationMs: 0, containers: 0, dockerCalls: 1, findings: [], orphans: [], error: 'dockerd down' });
  const m = await scrape(metrics);
  t.is(m.get('pooldeck_pool_slots{type="nginx",state="available"}'), 3);
  t.is(m.get('pooldeck_pool_slots{type="nginx",state="failed"}'), 1);
  t.is(m.get('pooldeck_launches_total{type="nginx",outcome="ok"}'), 2);
  t.is(m.get('pooldeck_launches_total{type="nginx",outcome="none-free"}'), 1);
  t.is(m.get('pooldeck_launch_duration_seconds_bucket{le="0.005",type="nginx"}'), 1);
  t.is(m.get('pooldeck_launch_duration_seconds_bucket{le="0.05",type="nginx"}'), 2);
  t.is(m.get('pooldeck_launch_duration_seconds_count{type="nginx"}'), 2, 'refusals are counted, not timed');
  t.is(m.get('pooldeck_recoveries_total{type="python"}'), 1);
  t.is(m.get('pooldeck_recovery_duration_seconds_sum{type="python"}'), 1.5);
  t.is(m.get('pooldeck_health_sweeps_total{outcome="ok"}'), 1);
  t.is(m.get('pooldeck_health_sweeps_total{outcome="error"}'), 1);
  t.is(m.get('pooldeck_health_sweep_duration_seconds_count'), 1);
  t.is(m.get('pooldeck_health_sweep_docker_calls_total'), 2);
  t.is(m.get('pooldeck_health_sweep_last_docker_calls'), 1);
  t.is(m.get('pooldeck_socketio_connected_clients'), 7);

  metrics.close();
  runtime.emit('launch', { type: 'nginx', ok: true, ms: 4 });
  t.is((await scrape(metrics)).get('pooldeck_launches_total{type="nginx",outcome="ok"}'), 2, 'closed: no longer listening');
  t.is(runtime.listenerCount('sweep'), 0);
});

test('When the pool has not started, then a scrape still answers, without pool sizes', async (t) => {
  const runtime = fakeRuntime();
  runtime.started = false;
  const metrics = createMetrics(runtime as never);
  const text = await metrics.registry.metrics();
  t.notRegex(text, /pooldeck_pool_slots\{/);
  t.regex(text, /pooldeck_process_resident_memory_bytes \d+/);
});

test('When GET /metrics is asked by nobody, a user, an admin or the metrics token holder, then only the admin and the token get it', async (t) => {
  const identities: Record<string, Identity> = {
    'Bearer pd_user': { user: { id: 2, username: 'ann', email: 'a@x.y', isAdmin: false }, via: 'token' },
    'Bearer pd_admin': { user: { id: 1, username: 'admin', email: 'admin@x.y', isAdmin: true }, via: 'token' },
  };
  const accounts = {
    identify: async ({ authorization, cookie }: { authorization?: string; cookie?: string }): Promise<Identity> => {
      if (cookie === 'pooldeck_session=admin') return { user: identities['Bearer pd_admin'].user!, via: 'session' };
      if (!authorization) return { user: null, via: 'none' };
      return identities[authorization] ?? { user: null, via: 'invalid' };
    },
  };
  const app = express().use(metricsRoutes(createMetrics(fakeRuntime() as never, { processMetrics: false }), { accounts, token: 'scraper-secret-0123456789' }));
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  const get = async (headers: Record<string, string>) => {
    const res = await fetch(url, { headers });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };
  try {
    const anonymous = await get({});
    t.is(anonymous.status, 401);
    t.regex(JSON.parse(anonymous.body).error, /admin/);
    t.is((await get({ authorization: 'Bearer pd_user' })).status, 403);
    t.is((await get({ authorization: 'Bearer wrong-scraper-secret-012' })).status, 401);
    for (const headers of <Array<Record<string, string>>>[{ authorization: 'Bearer pd_admin' }, { authorization: 'Bearer scraper-secret-0123456789' }, { cookie: 'pooldeck_session=admin' }]) {
      const ok = await get(headers);
      t.is(ok.status, 200, JSON.stringify(headers));
      t.regex(ok.type, /^text\/plain; version=0\.0\.4/);
      t.regex(ok.body, /# TYPE pooldeck_pool_slots gauge/);
    }
  } finally {
    server.close();
  }
});
