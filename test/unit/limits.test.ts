import test from 'ava';
import { loadConfig, typeSpec } from '../../runtime/config.ts';
import { RateBudget } from '../../runtime/accounts/rate-budget.ts';
import { escapeControls } from '../../runtime/cli/output.ts';

test('When nothing is configured, then idle TTL (2 h) and lifetime (24 h) are on, registration is open and the budgets are set; 0 turns them off', (t) => {
  const config = loadConfig({ POOLDECK_POOL: '' });
  t.is(config.policy.idleTtlMs, 2 * 3600_000);
  t.is(config.policy.maxLifetimeMs, 24 * 3600_000);
  t.like(config.accounts, { registration: 'open', registerPerHour: 30, loginPerAddressPerMinute: 30, passwordQueue: 64 });
  t.is(config.upload.idleTimeoutMs, 30_000);
  const off = loadConfig({ POOLDECK_POOL: '', POOLDECK_IDLE_TTL: '0', POOLDECK_MAX_LIFETIME: '0', POOLDECK_REGISTRATION: 'invite' });
  t.is(off.policy.idleTtlMs, 0);
  t.is(off.policy.maxLifetimeMs, 0);
  t.is(off.accounts.registration, 'invite');
  t.throws(() => loadConfig({ POOLDECK_POOL: '', POOLDECK_REGISTRATION: 'sometimes' }), { message: /open, invite or closed/ });
});

test('When a type name is one of Object\'s own properties, then it is not a type', (t) => {
  const config = loadConfig({ POOLDECK_POOL: '' });
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) t.is(typeSpec(config, name), undefined, name);
  t.is(Object.getPrototypeOf(config.types), null);
  t.is(typeSpec(config, 'nginx')?.type, 'nginx');
  t.throws(() => loadConfig({ POOLDECK_POOL: 'constructor=1' }), { message: /unknown type "constructor"/ });
});

test('When a key spends its budget, then it waits for tokens to come back evenly; other keys are not affected', (t) => {
  let now = 0;
  const budget = new RateBudget({ limit: 3, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i++) t.is(budget.take('a'), 0);
  t.is(budget.take('a'), 20_000);
  t.is(budget.take('b'), 0);
  now = 20_000;
  t.is(budget.take('a'), 0);
  t.is(budget.take('a'), 20_000);
  t.is(new RateBudget({ limit: 0, windowMs: 1 }).take('a'), 0, '0 = no limit');
});

test('When the CLI prints text holding control characters, then they appear as visible escapes', (t) => {
  t.is(escapeControls('ann\u001b[2J\u0007x\u009b31m\u202e'), 'ann\\x1b[2J\\x07x\\x9b31m\\u202e');
  t.is(escapeControls('tab\tand\nnewline stay'), 'tab\tand\nnewline stay');
});
