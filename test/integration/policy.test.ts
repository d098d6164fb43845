/**
 * Pool policy on a real server: an idle assignment is warned, then released; using the
 * container through the API counts as activity. (Times are short here; the same logic runs on
 * a simulated clock in test/unit/pool.policy.test.ts.)
 */
import test from 'ava';
import { eventually, fetchText, startTestDeck } from '../support/server.ts';
import { newTokenUser } from './client.ts';

test('When a held container is not used for the idle TTL, then its holder is warned and it is released into a fresh container', async (t) => {
  const deck = await startTestDeck({ POOLDECK_POOL: 'nginx=1', POOLDECK_IDLE_TTL: '4', POOLDECK_EXPIRY_WARNING: '3', POOLDECK_HEALTH_INTERVAL: '1' });
  try {
    const warned: string[] = [];
    deck.runtime.on('expiring', (e) => warned.push(e.reason));
    const user = await newTokenUser(deck, 'idle');
    const launched = await user.post('/api/containers', { type: 'nginx' });
    t.is(launched.status, 201);
    const id = launched.body.container.id;
    const port = launched.body.container.host_port;
    // Keep using it for a while: no release.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      t.is((await user.get(`/api/containers/${id}/files`)).status, 200);
    }
    t.is((await user.get('/api/containers')).body.containers.length, 1, 'activity kept it');
    const released = await eventually(async () => (await user.get('/api/containers')).body.containers.length === 0, 15_000, 200);
    t.true(released.ok, 'released after going idle');
    t.deepEqual([...new Set(warned)], ['idle'], 'warned first');
    const events = await deck.runtime.deps.store.recentEvents(20, ['expired']);
    t.is(events.length, 1);
    t.true((await eventually(async () => (await fetchText(`http://127.0.0.1:${port}/`)).body.includes('Pooldeck nginx'), 15_000)).ok, 'the slot is back with the welcome page');
  } finally {
    await deck.destroy();
  }
});
