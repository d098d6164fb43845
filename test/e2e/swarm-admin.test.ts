/**
 * The admin page and the inspector on a real 2-node Swarm (the lab of ops/scripts/swarm-lab.sh,
 * test/support/swarm-lab.ts) in Chromium: the Nodes panel lists both nodes ready with the slot
 * counts of GET /api/admin/pool, the slots table shows each slot's node, the inspector shows a
 * slot's node, and draining node2 through the manager's API shows `drain` live (no reload),
 * its free slots leaving. node2 is set back to `active` whatever happens. Nodes are never
 * stopped here. Needs the lab up (make swarm-lab; make test brings it up):
 *   npx ava test/e2e/swarm-admin.test.ts
 * Screenshots: test-results/screenshots/swarm-*.png.
 */
import { rmSync } from 'node:fs';
import test from 'ava';
import type { Page } from 'playwright-core';
import type { AdminSlot, NodeView } from '../../shared/events.ts';
import { axeViolations } from '../support/axe.ts';
import { BrowserSession } from '../support/browser.ts';
import { eventually, startTestDeck, testEnv, type TestDeck } from '../support/server.ts';
import { ensureSwarmLab, type SwarmLab } from '../support/swarm-lab.ts';
import { dist, ensureUiBuilt } from '../support/ui-build.ts';
import { adminClient, type Client } from '../integration/client.ts';

let lab: SwarmLab;
let deck: TestDeck;
let admin: Client;
const session = new BrowserSession();

const NODE1 = 'swarmlab-node1';
const NODE2 = 'swarmlab-node2';

/** Sets node2's availability through the manager (as `docker node update --availability`). */
async function setAvailability(availability: 'active' | 'drain'): Promise<void> {
  const node = lab.manager.getNode(lab.node(2).id);
  const info = await node.inspect();
  if (info.Spec?.Availability === availability) return;
  await node.update({ version: info.Version.Index, ...info.Spec, Availability: availability });
}

test.before(async (t) => {
  t.timeout(10 * 60_000);
  ensureUiBuilt();
  lab = await ensureSwarmLab();
  if (lab.nodes.length < 2) throw new Error('these tests need a lab of at least 2 nodes');
  // A node left draining by an earlier run would make this one start lopsided.
  await setAvailability('active');
  deck = await startTestDeck({}, testEnv({ ...lab.env, POOLDECK_POOL: 'nginx=4,ssh=2', POOLDECK_USER_LIMIT: '0', POOLDECK_UI_DIR: dist }));
  admin = await adminClient(deck);
  await session.launch();
});

test.after.always(async () => {
  if (lab) await setAvailability('active').catch(() => undefined);
  await session.close();
  const poolName = deck?.config.poolName;
  await deck?.stop().catch(() => undefined);
  if (lab && poolName) {
    const services = await lab.manager.listServices({ filters: { label: [`pooldeck.pool=${poolName}`] } });
    await Promise.all(services.map((s) => lab.manager.getService(s.ID!).remove().catch(() => undefined)));
    await eventually(async () => (await lab.manager.listTasks({ filters: { label: [`pooldeck.pool=${poolName}`] } })).length === 0, 20_000, 250);
    await lab.manager.getNetwork(`pooldeck_${poolName}`).remove().catch(() => undefined);
    for (const node of lab.nodes) await node.docker.getNetwork(`pooldeck_${poolName}_isolated`).remove().catch(() => undefined);
  }
  if (deck) rmSync(deck.env.POOLDECK_DATA!, { recursive: true, force: true });
});

interface PageNode {
  name: string;
  state: string;
  /** The state badge's visible text. */
  text: string;
  host: string;
  slots: Record<string, number>;
  types: string;
}

/** What the Nodes panel shows, row by row. */
function pageNodes(page: Page): Promise<PageNode[]> {
  return page.evaluate(`[...document.querySelectorAll('section[data-nodes] tr[data-node]')].map((tr) => ({
    name: tr.dataset.node,
    state: tr.dataset.nodeState,
    text: tr.querySelector('[data-node-state-badge]').textContent.trim(),
    host: tr.querySelector('td:nth-of-type(2)').textContent.trim(),
    slots: Object.fromEntries([...tr.querySelectorAll('[data-count]')].map((td) => [td.dataset.count, Number(td.textContent.trim())])),
    types: tr.querySelector('[data-types]').textContent.trim(),
  }))`);
}

/** What the panel should show, from GET /api/admin/pool. */
async function expected(): Promise<{ nodes: NodeView[]; slots: AdminSlot[]; rows: Array<Omit<PageNode, 'text'>> }> {
  const res = await admin.get<{ nodes?: NodeView[]; slots: AdminSlot[] }>('/api/admin/pool');
  if (res.status !== 200 || !res.body.nodes) throw new Error(`GET /api/admin/pool: ${res.status} ${JSON.stringify(res.body)}`);
  const { nodes, slots } = res.body;
  const rows = nodes.map((n) => {
    const types = new Map<string, number>();
    for (const s of slots) if (s.node === n.name) types.set(s.type, (types.get(s.type) ?? 0) + 1);
    const text = [...types].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => `${type} ${count}`).join(', ');
    return { name: n.name, state: n.state, host: n.host, slots: { ...n.slots }, types: text || 'none' };
  });
  return { nodes, slots, rows };
}

/**
 * Waits until the panel shows what the API says (the page follows within milliseconds; the pool
 * may still be settling), then asserts on the page and the API as read together.
 */
async function panelMatchesApi(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, page: Page, what: string): Promise<Awaited<ReturnType<typeof expected>>> {
  const strip = (rows: PageNode[]) => rows.map(({ text: _text, ...rest }) => rest);
  let shown = strip(await pageNodes(page));
  let want = await expected();
  await eventually(async () => {
    want = await expected();
    shown = strip(await pageNodes(page));
    return JSON.stringify(shown) === JSON.stringify(want.rows);
  }, 30_000, 200);
  t.deepEqual(shown, want.rows, `${what}: the Nodes panel shows what GET /api/admin/pool says`);
  return want;
}

/** Waits until every slot of the pool is available (a drain's replacements have started). */
async function settled(): Promise<void> {
  const done = await eventually(async () => (await expected()).slots.every((s) => s.state === 'available'), 60_000, 250);
  if (!done.ok) throw new Error(`the pool did not settle: ${JSON.stringify((await expected()).slots.map((s) => [s.name, s.state]))}`);
}

async function loginAsAdmin(page: Page): Promise<void> {
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(deck.env.POOLDECK_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
}

let page: Page;

test.serial('When an admin opens the pool page on the lab, then both nodes are listed ready with the slot counts of the API, every slot shows its node, and the page passes axe', async (t) => {
  page = await session.newPage({ bypassCSP: true });
  await page.goto(`${deck.url}/admin/pool`);
  await loginAsAdmin(page);
  await page.locator(`section[data-nodes] tr[data-node="${NODE2}"]`).waitFor();
  await settled();
  const want = await panelMatchesApi(t, page, 'at start');

  const shown = await pageNodes(page);
  t.deepEqual(shown.map((n) => [n.name, n.state, n.text]), [[NODE1, 'ready', '● ready'], [NODE2, 'ready', '● ready']]);
  for (const node of [NODE1, NODE2]) {
    const row = want.rows.find((r) => r.name === node)!;
    t.true(row.slots.available! > 0, `${node} runs free slots`);
    t.regex(row.types, /nginx \d, ssh \d/, `${node} runs both types`);
  }
  t.regex((await page.locator('[data-nodes-summary]').textContent()) ?? '', /^2 nodes: 2 ready$/);

  // The slots table: a Node column, each slot on the node the API names.
  t.true(await page.locator('table.slots thead th', { hasText: /^Node$/ }).isVisible());
  const rows = (await page.locator('table.slots tbody tr[data-slot]').evaluateAll((trs) =>
    trs.map((tr) => [(tr as HTMLElement).dataset.slot, (tr.querySelector('[data-slot-node]') as HTMLElement).dataset.slotNode, tr.querySelector('[data-slot-node]')!.textContent!.trim()]),
  )) as Array<[string, string, string]>;
  t.deepEqual(rows.map(([name, node]) => [name, node]), want.slots.map((s) => [s.name, s.node]));
  t.true(rows.every(([, node, text]) => text === node), 'the node name is the cell\'s visible text');
  t.deepEqual(new Set(rows.map(([, node]) => node)), new Set([NODE1, NODE2]));

  await session.shot(page, 'swarm-admin-nodes');
  t.deepEqual(await axeViolations(page), [], 'axe on the admin pool page with the Nodes panel');
});

test.serial('When an admin follows a slot of node2 in the inspector, then its details name the node, its state and where it is reached', async (t) => {
  const slot = deck.runtime.slots().find((s) => s.node === NODE2 && s.type === 'nginx')!;
  await page.goto(`${deck.url}/inspector/${slot.name}`);
  const detail = page.locator(`[data-actor-node="${NODE2}"]`);
  await detail.waitFor({ timeout: 60_000 });
  t.is(await page.locator('#actor-title').textContent(), slot.name);
  t.is((await detail.textContent())?.replace(/\s+/g, ' ').trim(), `Runs on node ${NODE2} · ● ready · reached at ${slot.host ?? '127.0.0.1'}:${slot.hostPort}`);
  await session.shot(page, 'swarm-inspector-node');
});

test.serial('When node2 is drained through the manager, then the page shows drain live, its free slots leave it, and back to active it shows ready', async (t) => {
  t.timeout(3 * 60_000);
  await page.goto(`${deck.url}/admin/pool`);
  await page.locator(`section[data-nodes] tr[data-node="${NODE2}"][data-node-state="ready"]`).waitFor();
  // A mark that a reload would wipe: everything below must arrive over the socket.
  await page.evaluate('window.__sameDocument = true');
  try {
    await setAvailability('drain');
    const row = page.locator(`section[data-nodes] tr[data-node="${NODE2}"]`);
    await page.locator(`section[data-nodes] tr[data-node="${NODE2}"][data-node-state="drain"]`).waitFor({ timeout: 30_000 });
    t.is((await row.locator('[data-node-state-badge]').textContent())?.trim(), '◐ drain');
    t.regex((await page.locator('[data-nodes-summary]').textContent()) ?? '', /^2 nodes: 1 ready, 1 drain$/);

    // Free slots leave a draining node (nothing is held): node2 ends with none, node1 with all.
    await eventually(async () => (await pageNodes(page)).find((n) => n.name === NODE2)?.types === 'none', 60_000, 250);
    await settled();
    const want = await panelMatchesApi(t, page, 'drained');
    t.deepEqual(want.nodes.find((n) => n.name === NODE2), { ...want.nodes.find((n) => n.name === NODE2)!, state: 'drain', slots: { available: 0, assigned: 0, failed: 0, stopped: 0 } });
    t.true(want.slots.every((s) => s.node === NODE1), 'every slot now runs on node1');
    t.is(await page.locator(`table.slots [data-slot-node="${NODE2}"]`).count(), 0, 'no slot row names node2 any more');
    await session.shot(page, 'swarm-admin-drain');
    t.deepEqual(await axeViolations(page), [], 'axe with a draining node');
  } finally {
    await setAvailability('active');
  }
  await page.locator(`section[data-nodes] tr[data-node="${NODE2}"][data-node-state="ready"]`).waitFor({ timeout: 30_000 });
  t.true(await page.evaluate('window.__sameDocument === true'), 'no reload happened');
  await settled();
  await panelMatchesApi(t, page, 'active again');
  await session.shot(page, 'swarm-admin-active-again');
});

test.serial('When the pages were used, then no script error happened', (t) => {
  t.deepEqual(session.pageErrors, []);
});
