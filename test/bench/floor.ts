/**
 * The HTTP floor and churn on the real engine.
 *
 * floor: on the warm 25-slot pool, authenticated `GET /api/me` and `POST /api/containers`
 * (launch) interleaved one by one in the same run, the same token and the same connection
 * pattern: a fresh TCP connection per request, then one keep-alive connection. Launches come in
 * batches of 20; between batches every container is released and the pool waited for, untimed.
 *
 * churn: 20 clients on a 10-slot pool, each looping launch → upload a file → GET it from the
 * container → release, for 2 minutes (BENCH_QUICK: 20 s). 409 (none free) means wait 20 ms and
 * try again.
 */
import { Agent } from 'node:http';
import { form, newTokenUser, type Client } from '../integration/client.ts';
import { removePool, testEnv } from '../support/server.ts';
import { startBenchDeck, type BenchDeck, type SlotEvent } from './deck.ts';
import { POOL, waitAvailable, type Launched } from './warm-pool.ts';
import { cleanups, httpCall, log, now, QUICK, rawGet, results, round, sleep, stats, type RawReply } from './util.ts';
import { rmSync } from 'node:fs';

const BATCH = 20;
const FLOOR_BATCHES = Number(process.env.BENCH_FLOOR_BATCHES ?? (QUICK ? 4 : 10));
const CHURN_SECONDS = Number(process.env.BENCH_CHURN_SECONDS ?? (QUICK ? 20 : 120));
const CHURN_CLIENTS = 20;
const CHURN_POOL = 10;

const launchBody = JSON.stringify({ type: 'nginx' });

export async function floor(deck: BenchDeck, user: Client) {
  log(`HTTP floor: GET /api/me vs POST /api/containers, interleaved, ${FLOOR_BATCHES} × ${BATCH} each, fresh connections then keep-alive`);
  const auth = { authorization: `Bearer ${user.token}` };
  const out: Record<string, unknown> = {};
  for (const mode of ['fresh', 'keepAlive'] as const) {
    const agent = mode === 'fresh' ? false : new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (method: string, path: string, body?: string) =>
      httpCall(deck.port, method, path, { agent, headers: body ? { ...auth, 'content-type': 'application/json' } : auth, body });
    for (let i = 0; i < 20; i++) await call('GET', '/api/me'); // warm-up: JIT, connection
    const me: number[] = [];
    const launches: number[] = [];
    for (let b = 0; b < FLOOR_BATCHES; b++) {
      const held: number[] = [];
      for (let i = 0; i < BATCH; i++) {
        let t0 = now();
        const who = await call('GET', '/api/me');
        me.push(now() - t0);
        if (who.status !== 200) throw new Error(`GET /api/me: ${who.status} ${who.body}`);
        t0 = now();
        const reply = await call('POST', '/api/containers', launchBody);
        launches.push(now() - t0);
        if (reply.status !== 201) throw new Error(`launch: ${reply.status} ${reply.body}`);
        held.push((JSON.parse(reply.body) as { container: Launched }).container.id);
      }
      for (const id of held) await call('DELETE', `/api/containers/${id}`);
      await waitAvailable(user, POOL);
    }
    if (agent) agent.destroy();
    const meStats = stats(me);
    const launchStats = stats(launches);
    out[mode] = { me: meStats, launch: launchStats, p50Ratio: round(launchStats.p50 / meStats.p50, 2), p99Ratio: round(launchStats.p99 / meStats.p99, 2) };
    log(`  ${mode}: GET /api/me p50 ${meStats.p50} ms p99 ${meStats.p99} ms; launch p50 ${launchStats.p50} ms p99 ${launchStats.p99} ms`);
  }
  results.floor = out;
}

export async function churn(base: number) {
  log(`churn: ${CHURN_CLIENTS} clients × launch → upload → GET → release on a ${CHURN_POOL}-slot pool for ${CHURN_SECONDS} s`);
  const env = testEnv({ POOLDECK_POOL: `nginx=${CHURN_POOL}`, POOLDECK_USER_LIMIT: '0', POOLDECK_PORTS_NGINX: `${base}-${base + CHURN_POOL - 1}`, POOLDECK_LOG_LEVEL: 'warn' });
  cleanups.push(async () => {
    await removePool(env.POOLDECK_POOL_NAME);
    rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
  });
  const deck = await startBenchDeck(env);
  cleanups.push(() => deck.kill());
  await deck.send('subscribe');
  const users: Client[] = [];
  for (let i = 0; i < CHURN_CLIENTS; i++) users.push(await newTokenUser(deck, 'churn'));

  const releasedAt = new Map<string, number>();
  const toAvailable: number[] = [];
  deck.onEvent((e) => {
    if (e.event !== 'slot') return;
    const slot = e as SlotEvent;
    const t = releasedAt.get(slot.name);
    if (t !== undefined && slot.state === 'available') {
      toAvailable.push(slot.at - t);
      releasedAt.delete(slot.name);
    }
  });

  const holders = new Map<string, number>();
  const launch201: number[] = [];
  const launchAll: number[] = [];
  const statuses: Record<string, number> = {};
  let doubles = 0;
  let cycles = 0;
  let wrongContent = 0;
  const started = now();
  const deadline = started + CHURN_SECONDS * 1000;
  await Promise.all(
    users.map(async (user, c) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const auth = { authorization: `Bearer ${user.token}` };
      let n = 0;
      while (now() < deadline) {
        const t0 = now();
        const reply: RawReply = await httpCall(deck.port, 'POST', '/api/containers', { agent, headers: { ...auth, 'content-type': 'application/json' }, body: launchBody });
        const ms = now() - t0;
        launchAll.push(ms);
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        if (reply.status !== 201) {
          await sleep(20);
          continue;
        }
        launch201.push(ms);
        const container = (JSON.parse(reply.body) as { container: Launched & { name: string } }).container;
        if (holders.has(container.name)) doubles += 1;
        holders.set(container.name, c);
        const page = `<p>churn ${c} ${n++} ${Date.now()}</p>`;
        const up = await user.post(`/api/containers/${container.id}/files`, form({ 'churn.html': page }));
        const got = up.status === 201 ? await rawGet(container.host_port, '/churn.html') : { status: up.status, body: '' };
        if (got.status !== 200 || got.body !== page) wrongContent += 1;
        if (holders.get(container.name) === c) holders.delete(container.name);
        const gone = await httpCall(deck.port, 'DELETE', `/api/containers/${container.id}`, { agent, headers: auth });
        if (gone.status === 200) releasedAt.set(container.name, Date.now());
        cycles += 1;
      }
      agent.destroy();
    }),
  );
  const seconds = (now() - started) / 1000;
  await waitAvailable(users[0]!, CHURN_POOL);
  const check = await deck.send<{ doubles: unknown[]; unknown: unknown[] }>('doubles');
  const other = Object.entries(statuses).filter(([status]) => status !== '201' && status !== '409').reduce((n, [, k]) => n + k, 0);
  results.churn = {
    clients: CHURN_CLIENTS,
    pool: CHURN_POOL,
    seconds: round(seconds, 1),
    cycles,
    cyclesPerSecond: round(cycles / seconds, 2),
    launch201: stats(launch201),
    launchAll: stats(launchAll),
    releaseToAvailable: stats(toAvailable),
    statuses,
    otherStatuses: other,
    doubleAssignments: doubles + check.doubles.length + check.unknown.length,
    wrongContent,
  };
  log(`  ${cycles} cycles in ${round(seconds, 1)} s; statuses ${JSON.stringify(statuses)}`);
  await deck.stop();
}
