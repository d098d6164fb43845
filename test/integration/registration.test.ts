/**
 * Issue 12.4 — pool exhaustion through registration: modes (open, invite, closed) set by an admin,
 * invite codes, a per-address budget of registrations, and control characters refused in every
 * user-given field (12.7). Real server, empty pool.
 */
import test from 'ava';
import { RateBudget } from '../../runtime/accounts/rate-budget.ts';
import { startTestDeck, type TestDeck } from '../support/server.ts';
import { adminClient, Client, newUser, uniqueName, type Client as ApiClient } from './client.ts';
import { fillUntilFull } from '../support/sqlite-full.ts';

let deck: TestDeck;
let admin: ApiClient;

test.before(async () => {
  deck = await startTestDeck({ POOLDECK_POOL: '', POOLDECK_REGISTER_PER_HOUR: '4' });
  admin = await adminClient(deck);
});
test.after.always(async () => {
  await deck?.destroy();
});

const register = (fields: Record<string, string> = {}, headers: Record<string, string> = {}) => {
  const username = uniqueName('r');
  return new Client(deck.url).post('/api/auth/register', { username, email: `${username}@example.test`, password: 'long enough pw', ...fields }, headers);
};

// Serial: the mode is one server-wide setting and the budget is per address.
test.serial('When an admin switches registration to invite, then only holders of a code with uses left can register; closed refuses everyone', async (t) => {
  t.is((await new Client(deck.url).get('/api/auth/registration')).body.mode, 'open', 'open by default, as the README says');
  t.is((await (await newUser(deck, 'plain')).put('/api/admin/registration', { mode: 'closed' })).status, 403, 'only admins');
  t.is((await admin.put('/api/admin/registration', { mode: 'invite' })).status, 200);
  t.is((await admin.put('/api/admin/registration', { mode: 'whatever' })).status, 400);
  t.is((await new Client(deck.url).get('/api/auth/registration')).body.mode, 'invite');

  const without = await register();
  t.is(without.status, 403);
  t.regex(without.body.error, /needs an invite code/);
  t.is((await register({ invite: 'inv_made-up' })).status, 403);

  const made = await admin.post('/api/admin/invites', { uses: 2, hours: 1, note: 'class 3b' });
  t.is(made.status, 201);
  const code: string = made.body.invite.code;
  t.regex(code, /^inv_[A-Za-z0-9_-]{22}$/);
  t.is((await register({ invite: code })).status, 201);
  t.is((await register({ invite: code })).status, 201);
  const usedUp = await register({ invite: code });
  t.is(usedUp.status, 403, 'two uses, no third');
  t.regex(usedUp.body.error, /not valid \(mistyped, used up or expired\)/);
  const listed = await admin.get('/api/admin/registration');
  t.like(listed.body.invites.find((i: { id: number }) => i.id === made.body.invite.id), { uses_left: 0, note: 'class 3b', created_by: 'admin' });
  t.false(JSON.stringify(listed.body).includes(code), 'the code is not kept');

  t.is((await admin.put('/api/admin/registration', { mode: 'closed' })).status, 200);
  const another = (await admin.post('/api/admin/invites', {})).body.invite.code;
  const closed = await register({ invite: another });
  t.is(closed.status, 403);
  t.regex(closed.body.error, /registration is closed/);
  t.is((await admin.put('/api/admin/registration', { mode: 'open' })).status, 200);
});

test.serial('When one address registers more accounts in an hour than its budget, then the next is refused 429 with Retry-After', async (t) => {
  // A fresh budget of 4 per hour (the server's already paid for the other tests' accounts).
  deck.accounts.registration.budget = new RateBudget({ limit: 4, windowMs: 3600_000 });
  for (let i = 0; i < 4; i++) t.is((await register()).status, 201, `registration ${i + 1}`);
  const refused = await register();
  t.is(refused.status, 429);
  t.regex(refused.body.error, /too many registrations from your address; try again in \d+ s/);
  t.true(Number(refused.headers.get('retry-after')) > 60, 'about a quarter of an hour');
  deck.accounts.registration.budget = new RateBudget({ limit: 0, windowMs: 3600_000 });
});

test.serial('When a user-given field holds control characters, then it is refused 400', async (t) => {
  const name = uniqueName('ctl');
  const cases: Array<[string, Record<string, string>]> = [
    ['escape in the email', { username: name, email: `${name}\u001b[2J@example.test`, password: 'long enough pw' }],
    ['C1 CSI in the email', { username: name, email: `${name}\u009b31m@example.test`, password: 'long enough pw' }],
    ['bidi override in the username', { username: `${name}\u202e`, email: `${name}@example.test`, password: 'long enough pw' }],
  ];
  for (const [what, body] of cases) {
    const reply = await new Client(deck.url).post('/api/auth/register', body);
    t.is(reply.status, 400, what);
    t.regex(reply.body.error, /control characters|not a valid/, what);
  }
  const user = await newUser(deck, 'ctl');
  const token = await user.post('/api/tokens', { name: 'ci\u0007\u001b]0;owned\u0007' });
  t.is(token.status, 400);
  t.regex(token.body.error, /"name" must not contain control characters/);
  const note = await admin.post('/api/admin/invites', { note: 'x\u001b[31m' });
  t.is(note.status, 400);
});

test.serial('When the database is full, then register and login answer without any database error text', async (t) => {
  const user = await newUser(deck, 'full');
  const { max_page_count: before } = (await deck.db.get<{ max_page_count: number }>('PRAGMA max_page_count'))!;
  const { page_count: pages } = (await deck.db.get<{ page_count: number }>('PRAGMA page_count'))!;
  await deck.db.exec(`PRAGMA max_page_count = ${pages + 4}`);
  const fillers: number[] = [];
  try {
    // Fill users and sessions until SQLite answers SQLITE_FULL: the disk is "full" for both.
    const fill = (insert: (i: number) => Promise<unknown>) => fillUntilFull(t, insert);
    await fill(async (i) => fillers.push((await deck.db.run(`INSERT INTO users (username, email, password_hash) VALUES (?, ?, 'x')`, `filler${i}x${Date.now()}`, `f${i}x${Date.now()}@example.test`)).lastID!));
    await fill((i) => deck.db.run(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES (?, ?, '2999-01-01')`, fillers[0], `filler-${i}-${Date.now()}`));
    const replies = [
      await register({ email: `${'x'.repeat(60)}@${'y'.repeat(150)}.test` }),
      await new Client(deck.url).post('/api/auth/login', { username: user.name, password: 'correct horse battery' }),
    ];
    for (const reply of replies) {
      t.true(reply.status >= 500, `status ${reply.status}`);
      t.notRegex(JSON.stringify(reply.body), /SQLITE|database|disk is full|sqlite/i);
      t.regex(reply.body.error, /try again later|internal error/);
    }
  } finally {
    await deck.db.exec(`PRAGMA max_page_count = ${before}`);
    await deck.db.run(`DELETE FROM users WHERE username LIKE 'filler%'`);
  }
});
