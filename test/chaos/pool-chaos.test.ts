/**
 * Chaos under load: random `docker kill` / `rm -f` / `stop` of pool containers while users keep
 * launching and releasing. Afterwards every live assignment is on its original port serving its
 * own files, nothing was handed out twice, and the pool is back to its configured size.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { docker, poolContainers } from '../support/docker.ts';
import { eventually, fetchText, startTestDeck } from '../support/server.ts';

const DURATION_MS = Number(process.env.CHAOS_MS ?? 20_000);

test('When containers are killed, removed and stopped at random under launch/release load, then no assignment is lost or shared', async (t) => {
  const deck = await startTestDeck({ POOLDECK_POOL: 'nginx=6,python=3', POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: '2' });
  try {
    const users = [];
    for (let i = 0; i < 4; i++) {
      const r = await deck.db.run(`INSERT INTO users (username, email, password_hash) VALUES (?, ?, 'x')`, `u${i}`, `u${i}@test`);
      users.push({ id: r.lastID!, username: `u${i}` });
    }
    const live = new Map<number, { slot: string; port: number; page: string }>();
    const handedOut = new Map<string, number>();
    let doubles = 0;
    let launches = 0;
    let chaosActs = 0;
    const stopAt = Date.now() + DURATION_MS;

    const worker = async (user: { id: number; username: string }) => {
      while (Date.now() < stopAt) {
        try {
          const { slot, assignment } = await deck.runtime.launch(user, Math.random() < 0.7 ? 'nginx' : 'python');
          launches += 1;
          const holder = handedOut.get(slot.name);
          if (holder !== undefined && live.has(holder)) doubles += 1;
          handedOut.set(slot.name, assignment.id);
          const page = `<p>${user.username} #${assignment.id}</p>`;
          await writeFile(path.join(deck.runtime.deps.files.dir(slot.name), 'index.html'), page);
          live.set(assignment.id, { slot: slot.name, port: slot.hostPort, page });
          await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
          if (Math.random() < 0.5) {
            live.delete(assignment.id);
            await deck.runtime.release(assignment.id).catch(() => undefined);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const chaos = async () => {
      while (Date.now() < stopAt) {
        const containers = (await poolContainers(deck.config.poolName)).filter((c) => c.state === 'running');
        const victim = containers[Math.floor(Math.random() * containers.length)];
        if (victim) {
          const act = [['kill'], ['rm', '-f'], ['stop', '-t', '1']][Math.floor(Math.random() * 3)];
          await docker(...act, victim.name).catch(() => undefined);
          chaosActs += 1;
        }
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 600));
      }
    };
    await Promise.all([...users.map(worker), chaos()]);
    t.log(`launches=${launches} chaos=${chaosActs} live=${live.size}`);
    t.true(chaosActs >= 5);
    t.is(doubles, 0, 'no slot handed to a second holder while the first still held it');

    const settled = await eventually(() => deck.runtime.slots().every((s) => s.state === 'available' || s.state === 'assigned'), 30_000, 100);
    t.true(settled.ok, JSON.stringify(deck.runtime.slots().map((s) => [s.name, s.state, s.phase])));
    for (const [id, held] of live) {
      const slot = deck.runtime.slotOfAssignment(id);
      t.is(slot?.name, held.slot, `assignment ${id} kept its slot`);
      const served = await eventually(async () => (await fetchText(`http://127.0.0.1:${held.port}/`)).body === held.page, 10_000);
      t.true(served.ok, `assignment ${id} serves its own page on ${held.port}`);
    }
    const containers = await poolContainers(deck.config.poolName);
    t.is(deck.runtime.slots().length, 9);
    t.is(containers.length, 9, 'pool back to its configured size, no orphans');
    t.true(containers.every((c) => c.state === 'running'));
  } finally {
    await deck.destroy();
  }
});
