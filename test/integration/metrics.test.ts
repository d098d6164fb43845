/**
 * GET /metrics on a real server over the real dockerd: pool sizes follow the pool, and a launch,
 * a `docker kill` of the launched container and a health sweep each move their counters.
 */
import test from 'ava';
import { io } from 'socket.io-client';
import { docker } from '../support/docker.ts';
import { eventually, startTestDeck, type TestDeck } from '../support/server.ts';
import { Client, adminClient, newTokenUser } from './client.ts';

const METRICS_TOKEN = 'metrics-scraper-token-for-tests';
let deck: TestDeck;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2', POOLDECK_METRICS_TOKEN: METRICS_TOKEN, POOLDECK_HEALTH_INTERVAL: '3600' });
});

test.after.always(async () => {
  await deck?.destroy();
});

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${deck.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const at = l.lastIndexOf(' ');
    return [l.slice(0, at), Number(l.slice(at + 1))];
  }));
}

test.serial('When GET /metrics is asked without credentials or by a plain user, then it is refused; an admin session, an admin token and the metrics token get Prometheus text', async (t) => {
  t.is((await fetch(`${deck.url}/metrics`)).status, 401);
  const user = await newTokenUser(deck, 'mu');
  const asUser = await user.get('/metrics');
  t.is(asUser.status, 403);
  t.regex(asUser.body.error, /admin/);
  const admin = await adminClient(deck);
  const viaSession = await admin.get('/metrics');
  t.is(viaSession.status, 200);
  t.regex(viaSession.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const created = await admin.post('/api/tokens', { name: 'metrics' });
  const viaToken = await new Client(deck.url, 'admin-token').call('GET', '/metrics', undefined, { authorization: `Bearer ${created.body.token}` });
  t.is(viaToken.status, 200);
  t.regex(String(viaToken.body), /pooldeck_pool_slots\{type="nginx",state="available"\} 2/);
  t.is((await scrape()).get('pooldeck_pool_slots{type="nginx",state="available"}'), 2);
});

test.serial('When a container is launched and then killed, then launches, pool sizes, recoveries and sweeps show it', async (t) => {
  const before = await scrape();
  const user = await newTokenUser(deck, 'mk');
  const launched = await user.post('/api/containers', { type: 'nginx' });
  t.is(launched.status, 201);
  let m = await scrape();
  t.is((m.get('pooldeck_launches_total{type="nginx",outcome="ok"}') ?? 0) - (before.get('pooldeck_launches_total{type="nginx",outcome="ok"}') ?? 0), 1);
  t.is((m.get('pooldeck_launch_duration_seconds_count{type="nginx"}') ?? 0) - (before.get('pooldeck_launch_duration_seconds_count{type="nginx"}') ?? 0), 1);
  t.is(m.get('pooldeck_pool_slots{type="nginx",state="assigned"}'), 1);
  t.is(m.get('pooldeck_pool_slots{type="nginx",state="available"}'), 1);

  const recovered = new Promise((resolve) => deck.runtime.once('recovery', resolve));
  await docker('kill', launched.body.container.name);
  await recovered;
  m = await scrape();
  t.is(m.get('pooldeck_recoveries_total{type="nginx"}'), 1);
  t.is(m.get('pooldeck_recovery_duration_seconds_count{type="nginx"}'), 1);
  t.true(m.get('pooldeck_recovery_duration_seconds_sum{type="nginx"}')! > 0);

  const sweepsBefore = m.get('pooldeck_health_sweeps_total{outcome="ok"}') ?? 0;
  await deck.runtime.runHealthCheck();
  m = await scrape();
  t.is(m.get('pooldeck_health_sweeps_total{outcome="ok"}'), sweepsBefore + 1);
  t.is(m.get('pooldeck_health_sweep_last_docker_calls'), 1);
  t.is(m.get('pooldeck_health_sweep_last_containers'), 2);

  const taken = await user.post('/api/containers', { type: 'nginx' });
  const refused = await user.post('/api/containers', { type: 'nginx' });
  t.is(taken.status, 201);
  t.true(refused.status === 409 || refused.status === 429, String(refused.status));
  m = await scrape();
  t.is(m.get(`pooldeck_launches_total{type="nginx",outcome="${refused.status === 409 ? 'none-free' : 'limit'}"}`), 1);
});

test.serial('When a socket.io client connects, then the connected-clients gauge counts it', async (t) => {
  const user = await newTokenUser(deck, 'ms');
  const socket = io(deck.url, { auth: { token: user.token }, transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const counted = await eventually(async () => ((await scrape()).get('pooldeck_socketio_connected_clients') ?? 0) >= 1, 3000);
    t.true(counted.ok);
  } finally {
    socket.close();
  }
});
