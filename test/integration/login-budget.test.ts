/**
 * Issue 12.3 — CPU exhaustion through login: bcrypt runs in worker threads, password checks have
 * a per-address and a global budget, and an unknown user still costs one bcrypt comparison.
 * Real servers (empty pool), real HTTP.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { newUser } from './client.ts';

const decks: TestDeck[] = [];
const deckWith = async (env: Record<string, string>) => {
  const deck = await startTestDeck({ POOLDECK_POOL: '', ...env });
  decks.push(deck);
  return deck;
};
test.after.always(async () => {
  await Promise.all(decks.map((d) => d.destroy()));
});

const login = (url: string, username: string, password: string) =>
  fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
};

test.serial('When 200 logins with random usernames arrive 20 at a time, then /healthz keeps answering fast (p50 < 50 ms)', async (t) => {
  // The per-address budget is off here, so every one of the 200 logins costs a real bcrypt
  // comparison: this measures that the comparisons happen off the event loop. 200 comparisons
  // take minutes on a loaded 2-core machine.
  t.timeout(10 * 60_000);
  const deck = await deckWith({ POOLDECK_LOGIN_PER_ADDRESS: '0' });
  const before = deck.accounts.hasher.done;
  let remaining = 200;
  const statuses = new Map<number, number>();
  const worker = async () => {
    while (remaining > 0) {
      remaining -= 1;
      const reply = await login(deck.url, `nobody-${randomBytes(6).toString('hex')}`, 'wrong password');
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      await reply.arrayBuffer();
    }
  };
  const flood = Promise.all(Array.from({ length: 20 }, worker));
  let flooding = true;
  void flood.finally(() => (flooding = false));
  const latencies: number[] = [];
  while (flooding) {
    const started = performance.now();
    const health = await fetch(`${deck.url}/healthz`);
    await health.arrayBuffer();
    latencies.push(performance.now() - started);
    t.is(health.status, 200);
  }
  await flood;
  const p50 = percentile(latencies, 50);
  t.log(`/healthz during the login flood: n=${latencies.length} p50=${p50.toFixed(1)} ms p90=${percentile(latencies, 90).toFixed(1)} ms max=${Math.max(...latencies).toFixed(1)} ms`);
  t.deepEqual([...statuses], [[401, 200]], 'every random username is a plain 401');
  t.true(deck.accounts.hasher.done - before >= 200, 'an unknown user still costs a bcrypt comparison (constant time)');
  t.true(latencies.length >= 5, 'healthz was asked during the flood');
  t.true(p50 < 50, `/healthz p50 ${p50.toFixed(1)} ms`);
});

test.serial('When one address spends its budget of password checks, then further logins get 429 without a bcrypt comparison, and other users still get in', async (t) => {
  const deck = await deckWith({ POOLDECK_LOGIN_PER_ADDRESS: '5' });
  const user = await newUser(deck, 'budget'); // its login spent one check
  for (let i = 0; i < 4; i++) t.is((await login(deck.url, `who${i}x`, 'wrong password')).status, 401);
  const before = deck.accounts.hasher.done;
  const refused = await login(deck.url, user.name, 'correct horse battery');
  t.is(refused.status, 429);
  t.regex(((await refused.json()) as { error: string }).error, /too many logins from your address; try again in \d+ s/);
  t.true(Number(refused.headers.get('retry-after')) >= 1);
  t.is(deck.accounts.hasher.done, before, 'no password was checked');
});

test.serial('When more password checks are asked for at once than the global budget, then the rest are refused 503 with Retry-After at once', async (t) => {
  const deck = await deckWith({ POOLDECK_LOGIN_PER_ADDRESS: '0', POOLDECK_PASSWORD_QUEUE: '2', POOLDECK_PASSWORD_WORKERS: '1' });
  const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => login(deck.url, `someone${i}`, 'wrong password')));
  const statuses = replies.map((r) => r.status);
  t.true(statuses.filter((s) => s === 401).length >= 2, `some are checked: ${statuses}`);
  const busy = replies.filter((r) => r.status === 503);
  t.true(busy.length >= 1, `some are refused: ${statuses}`);
  t.is(busy[0]!.headers.get('retry-after'), '2');
  t.regex(((await busy[0]!.json()) as { error: string }).error, /too many passwords at once/);
  t.is((await login(deck.url, 'admin', deck.env.POOLDECK_ADMIN_PASSWORD!)).status, 200, 'after the burst, logins work again');
});
