/**
 * dockerd restarted while the pool runs (live-restore off: every container stops with it). The
 * runtime must reconnect its event stream by itself and bring the pool back: every slot available
 * or assigned, one running container per slot and none else, every assignment still held and
 * serving its holder's page, and a `docker kill` afterwards noticed within a second (the health
 * interval is an hour, so only the reconnected event stream can notice it).
 *
 * This restarts the machine's Docker engine: every container on it stops, other people's too.
 * It only runs with POOLDECK_CHAOS_DOCKERD=1 (`make chaos-dockerd`), never in `make chaos`.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { docker, poolContainers } from '../support/docker.ts';
import { eventually, fetchText, startTestDeck } from '../support/server.ts';
import { form, newTokenUser } from '../integration/client.ts';

const enabled = process.env.POOLDECK_CHAOS_DOCKERD === '1';
const root = path.resolve(import.meta.dirname, '../..');

function sh(cmd: string, args: string[], timeout = 120_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Restart dockerd the way this machine runs it: systemd if it manages docker, else stop the process and start it with ops/scripts/ensure-docker.sh. */
async function restartDockerd(log: (line: string) => void): Promise<void> {
  let systemd = false;
  try {
    systemd = sh('systemctl', ['is-active', 'docker']) === 'active';
  } catch {
    systemd = false;
  }
  if (systemd) {
    log('restarting dockerd with systemctl restart docker');
    sh('systemctl', ['restart', 'docker'], 180_000);
    return;
  }
  const pid = Number(sh('pgrep', ['-x', 'dockerd']).split('\n')[0]);
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  log(`dockerd runs as pid ${pid} (${args.join(' ')}) without systemd: SIGTERM, wait, then ops/scripts/ensure-docker.sh`);
  if (args.length > 1) log(`warning: dockerd had arguments (${args.slice(1).join(' ')}); ensure-docker.sh starts it without them`);
  process.kill(pid, 'SIGTERM');
  const gone = await eventually(() => !alive(pid), 90_000, 100);
  if (!gone.ok) {
    log('dockerd did not stop within 90 s: SIGKILL');
    process.kill(pid, 'SIGKILL');
    await eventually(() => !alive(pid), 10_000, 100);
  }
  log(`dockerd stopped after ${gone.ms} ms`);
  log(sh(path.join(root, 'ops/scripts/ensure-docker.sh'), [], 180_000) || 'ensure-docker.sh: engine up');
}

(enabled ? test : test.skip)('When dockerd is restarted while the pool runs, then the runtime reconnects and the pool comes back whole, assignments kept', async (t) => {
  const deck = await startTestDeck({ POOLDECK_POOL: 'nginx=4,python=2', POOLDECK_USER_LIMIT: '0', POOLDECK_HEALTH_INTERVAL: '3600' });
  try {
    const held: Array<{ id: number; name: string; port: number; page: string; user: Awaited<ReturnType<typeof newTokenUser>> }> = [];
    for (const type of ['nginx', 'python']) {
      const user = await newTokenUser(deck, 'dk');
      const launched = await user.post('/api/containers', { type });
      t.is(launched.status, 201);
      const c = launched.body.container;
      const page = `<p>${user.name} on ${c.name}</p>`;
      t.is((await user.post(`/api/containers/${c.id}/files`, form({ 'index.html': page }))).status, 201);
      held.push({ id: c.id, name: c.name, port: c.host_port, page, user });
    }
    const moved: string[] = [];
    deck.runtime.on('moved', (e) => moved.push(`${e.from} → ${e.to}`));
    const before = await poolContainers(deck.config.poolName);
    t.is(before.length, 6);

    const started = Date.now();
    await restartDockerd((line) => t.log(line));
    t.log(`dockerd answering again after ${Date.now() - started} ms`);

    const settled = await eventually(async () => {
      const slots = deck.runtime.slots();
      if (!slots.every((s) => s.state === 'available' || s.state === 'assigned')) return false;
      const containers = await poolContainers(deck.config.poolName).catch(() => []);
      return containers.length === slots.length && containers.every((c) => c.state === 'running');
    }, 120_000, 250);
    t.true(settled.ok, JSON.stringify(deck.runtime.slots().map((s) => [s.name, s.state, s.phase, s.error])));
    t.log(`pool whole again ${Date.now() - started} ms after the restart began${moved.length ? `; moved: ${moved.join(', ')}` : ''}`);

    const slots = deck.runtime.slots();
    const containers = await poolContainers(deck.config.poolName);
    t.deepEqual(containers.map((c) => c.name).sort(), slots.map((s) => s.name).sort(), 'one container per slot, no orphan');
    t.is(slots.length, 6);
    for (const h of held) {
      const slot = deck.runtime.slotOfAssignment(h.id);
      t.is(slot?.name, h.name, `assignment ${h.id} kept its slot`);
      t.is(slot?.assignment?.userId !== undefined, true);
      const served = await eventually(async () => (await fetchText(`http://127.0.0.1:${h.port}/`)).body === h.page, 10_000);
      t.true(served.ok, `assignment ${h.id} serves its holder's page on ${h.port}`);
      const listed = await h.user.get('/api/containers');
      t.deepEqual(listed.body.containers.map((c: { id: number }) => c.id), [h.id], 'the holder still sees it');
    }

    // The event stream is back: a kill is seen at once, not at the next (hourly) sweep.
    const victim = held[0];
    const failed = eventually(() => deck.runtime.slotOfAssignment(victim.id)?.state === 'failed', 5000, 5);
    const killedAt = Date.now();
    await docker('kill', victim.name);
    const seen = await failed;
    t.true(seen.ok && Date.now() - killedAt < 2000, `kill seen after ${Date.now() - killedAt} ms`);
    const back = await eventually(async () => (await fetchText(`http://127.0.0.1:${victim.port}/`)).body === victim.page, 10_000);
    t.true(back.ok, 'and recovered with its files');
  } finally {
    await deck.destroy();
  }
});
