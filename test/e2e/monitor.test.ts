/**
 * The monitor's charts in Chromium against a real server and real containers: launches and a
 * real recovery (docker kill) show up as points that agree with what /metrics says, live; after
 * a restart of the server the history is still there (SQLite). Samples every second here.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { newUser } from '../integration/client.ts';
import { axeViolations } from '../support/axe.ts';
import { BrowserSession } from '../support/browser.ts';
import { docker } from '../support/docker.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';

let deck: TestDeck;
const session = new BrowserSession();

test.before(async () => {
  ensureUiBuilt();
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=3', POOLDECK_UI_DIR: dist, POOLDECK_HISTORY_SAMPLE: '1' });
  await session.launch();
});

test.after.always(async () => {
  await session.close();
  await deck?.destroy();
});

/** Prometheus text → { 'name{labels}': value }. */
async function metrics(page: Page): Promise<Record<string, number>> {
  const text = (await page.evaluate(`fetch('/metrics').then((r) => r.text())`)) as string;
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([-\d.e+]+|NaN)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const chart = (page: Page, id: string) => page.locator(`[data-chart="${id}"]`);
const latest = async (page: Page, id: string) => JSON.parse((await chart(page, id).getAttribute('data-latest'))!) as Array<number | null>;
const total = async (page: Page, id: string) => Number(await chart(page, id).getAttribute('data-total'));
const points = async (page: Page, id: string) => Number(await chart(page, id).getAttribute('data-points'));

test.serial('When containers are launched and one dies and is rebuilt, then the monitor charts draw points that match /metrics, live and after a restart', async (t) => {
  const page = await session.newPage({ bypassCSP: true });
  await page.goto(`${deck.url}/monitor`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(deck.env.POOLDECK_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await chart(page, 'slots-nginx').waitFor({ timeout: 30_000 });
  t.deepEqual(await latest(page, 'slots-nginx'), [3, 0, 0]);

  // Two launches, then a death of one of them: the pool rebuilds it in place (a recovery).
  const user = await newUser(deck, 'charts');
  const launched: string[] = [];
  for (let i = 0; i < 2; i++) {
    const reply = await user.post('/api/containers', { type: 'nginx' });
    t.is(reply.status, 201);
    launched.push(reply.body.container.name);
  }
  await docker('kill', launched[0]);
  await page.waitForFunction(`Number(document.querySelector('[data-chart="recoveries"]')?.dataset.total) >= 1`, undefined, { timeout: 60_000 });
  // Settled: wait for a sample taken after the pool is back to 1 available, 2 assigned.
  await page.waitForFunction(`document.querySelector('[data-chart="slots-nginx"]')?.dataset.latest === '[1,2,0]'`, undefined, { timeout: 60_000 });

  const m = await metrics(page);
  const gauge = (state: string) => m[`pooldeck_pool_slots{type="nginx",state="${state}"}`];
  t.deepEqual(await latest(page, 'slots-nginx'), [gauge('available'), gauge('assigned'), gauge('failed')]);
  t.is(await total(page, 'launches'), m['pooldeck_launches_total{type="nginx",outcome="ok"}']);
  t.is(await total(page, 'launches'), 2);
  t.is(await total(page, 'recoveries'), m['pooldeck_recoveries_total{type="nginx"}']);
  t.is(m['pooldeck_launch_duration_seconds_count{type="nginx"}'], 2);
  // The launch-time chart has points, and its p99 lies within the histogram bucket holding every launch.
  t.true((await points(page, 'latency')) >= 2);
  const [, p99] = JSON.parse((await chart(page, 'latency').getAttribute('data-max'))!) as number[];
  const bucket = Object.entries(m)
    .filter(([k]) => k.startsWith('pooldeck_launch_duration_seconds_bucket{') && k.includes('type="nginx"'))
    .map(([k, v]) => ({ le: Number(/le="([^"]+)"/.exec(k)![1]), v }))
    .filter((b) => b.v === 2)
    .sort((a, b) => a.le - b.le)[0];
  t.true(p99 / 1000 <= bucket.le, `p99 ${p99} ms within le=${bucket.le} s`);
  t.true((await points(page, 'recoveries')) >= 1);
  t.true((await points(page, 'slots-nginx')) >= 3);
  // Live: more points arrive without a reload.
  const before = await points(page, 'slots-nginx');
  await page.waitForFunction((n) => Number(document.querySelector('[data-chart="slots-nginx"]')?.getAttribute('data-points')) > n, before, { timeout: 15_000 });
  await session.shot(page, 'monitor-charts');
  t.deepEqual(await axeViolations(page), [], 'axe on the monitor with charts');

  // A restart keeps the history (same data directory and pool).
  const shown = await points(page, 'slots-nginx');
  await deck.stop();
  deck = await startTestDeck({}, deck.env);
  await page.goto(`${deck.url}/monitor`);
  await chart(page, 'slots-nginx').waitFor({ timeout: 30_000 });
  t.true((await points(page, 'slots-nginx')) >= shown, 'the earlier samples are back');
  t.is(await total(page, 'launches'), 2, 'launches before the restart are still counted');
  t.deepEqual(session.pageErrors, []);
});
