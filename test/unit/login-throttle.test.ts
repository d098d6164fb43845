import test from 'ava';
import { LoginThrottle } from '../../runtime/accounts/login-throttle.ts';

test('When a username+address fails five times, then it is locked for a time that doubles with each further failure', (t) => {
  let now = 0;
  const throttle = new LoginThrottle({ now: () => now, baseMs: 1000 });
  for (let i = 0; i < 4; i++) throttle.failed('Alice', '10.0.0.1');
  t.is(throttle.retryAfterMs('alice', '10.0.0.1'), 0);
  throttle.failed('alice', '10.0.0.1');
  t.is(throttle.retryAfterMs('alice', '10.0.0.1'), 1000);
  t.is(throttle.retryAfterMs('alice', '10.0.0.2'), 0, 'another address is not affected');
  t.is(throttle.retryAfterMs('bob', '10.0.0.1'), 0, 'another username is not affected');
  now = 1000;
  throttle.failed('alice', '10.0.0.1');
  t.is(throttle.retryAfterMs('alice', '10.0.0.1'), 2000);
  now = 3000;
  throttle.failed('alice', '10.0.0.1');
  t.is(throttle.retryAfterMs('alice', '10.0.0.1'), 4000);
});

test('When a login succeeds or an hour passes, then the record is forgotten; the lock never exceeds the cap', (t) => {
  let now = 0;
  const throttle = new LoginThrottle({ now: () => now, baseMs: 1000, maxMs: 60_000 });
  for (let i = 0; i < 30; i++) throttle.failed('a', 'ip');
  t.is(throttle.retryAfterMs('a', 'ip'), 60_000);
  throttle.succeeded('a', 'ip');
  t.is(throttle.retryAfterMs('a', 'ip'), 0);
  for (let i = 0; i < 6; i++) throttle.failed('a', 'ip');
  now = 3600_001;
  t.is(throttle.retryAfterMs('a', 'ip'), 0);
});
