import test from 'ava';
import { Interventions } from '../../runtime/pool/interventions.ts';

const by = { id: 1, username: 'admin' };

test('When an admin restarted a held slot, then its next recovery is claimed once, and the one after is a recovery again', (t) => {
  const open = new Interventions(() => 1000);
  open.expect({ name: 's1', kind: 'restart', by, at: 1000 });
  t.is(open.claim('s2'), null, 'another slot is not concerned');
  t.is(open.claim('s1')?.kind, 'restart');
  t.is(open.claim('s1'), null);
});

test('When the restarted slot was free, released or removed, or the rebuild took too long, then nothing is left to claim', (t) => {
  let now = 0;
  const open = new Interventions(() => now, 60_000);
  open.expect({ name: 'free', kind: 'restart', by, at: 0 });
  open.slotChanged({ name: 'free', state: 'stopped' });
  open.slotChanged({ name: 'free', state: 'available' });
  t.is(open.claim('free'), null, 'a free slot comes back without a recovery');

  open.expect({ name: 'gone', kind: 'recreate', by, at: 0 });
  open.slotRemoved('gone');
  t.is(open.claim('gone'), null);

  open.expect({ name: 'failed', kind: 'restart', by, at: 0 });
  open.cancel('failed');
  t.is(open.claim('failed'), null, 'the Docker call failed');

  open.expect({ name: 'slow', kind: 'restart', by, at: 0 });
  open.slotChanged({ name: 'slow', state: 'failed' });
  now = 60_001;
  t.is(open.claim('slow'), null, 'a recovery long after the restart is the supervisor\'s');
});
