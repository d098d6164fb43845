import test from 'ava';
import { execFileSync } from 'node:child_process';
import { KeyError, parsePublicKey } from '../../runtime/accounts/ssh-keys.ts';
import { ecdsaKey, ed25519Key, mismatchedKey, rsaKey } from '../integration/fixtures.ts';

test('When a real ed25519, RSA or ECDSA key is given, then it parses to a one-line key with a fingerprint', (t) => {
  for (const line of [ed25519Key('alice@home'), rsaKey(), ecdsaKey('nistp256'), ecdsaKey('nistp384'), ecdsaKey('nistp521')]) {
    const parsed = parsePublicKey(`  ${line}\n`);
    t.is(parsed.key, line.split(' ').slice(0, 2).join(' '));
    t.regex(parsed.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  }
  t.is(parsePublicKey(ed25519Key('alice@home')).comment, 'alice@home');
});

test('When ssh-keygen is available, then our fingerprint is the one it prints', (t) => {
  const line = ed25519Key('x');
  let printed: string;
  try {
    printed = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: line + '\n' }).toString();
  } catch {
    t.pass('ssh-keygen not installed');
    return;
  }
  t.true(printed.includes(parsePublicKey(line).fingerprint));
});

const bad: Array<[string, string | (() => string), RegExp]> = [
  ['empty', '', /empty/],
  ['an unknown type', 'ssh-dss AAAAB3NzaC1kc3MAAACBAP', /unsupported key type/],
  ['options before the key', () => `from="1.2.3.4" ${ed25519Key()}`, /unsupported key type/],
  ['data that is not base64', 'ssh-ed25519 not*base64', /not base64/],
  ['a declared type that differs from the data', mismatchedKey, /says it is ssh-rsa/],
  ['two keys on two lines', () => `${ed25519Key()}\n${ed25519Key()}`, /one line/],
  ['a truncated blob', () => ed25519Key('').slice(0, 40), /truncated|canonical|base64/],
  ['a short RSA key', () => rsaKey(1024), /2048/],
];

for (const [what, input, message] of bad) {
  test(`When the key is ${what}, then it is refused with a reason`, (t) => {
    const error = t.throws(() => parsePublicKey(typeof input === 'function' ? input() : input), { instanceOf: KeyError });
    t.regex(error!.message, message);
  });
}
