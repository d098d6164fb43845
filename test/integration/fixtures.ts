/** OpenSSH public key lines built from fresh Node key pairs (no ssh-keygen needed). */
import { generateKeyPairSync } from 'node:crypto';

function sshString(value: Buffer | string): Buffer {
  const data = Buffer.isBuffer(value) ? value : Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

function mpint(bytes: Buffer): Buffer {
  return sshString(bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

const b64url = (s: string) => Buffer.from(s, 'base64url');

export function ed25519Key(comment = 'me@laptop'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = b64url(publicKey.export({ format: 'jwk' }).x!);
  return `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]).toString('base64')} ${comment}`.trim();
}

export function rsaKey(bits = 2048, comment = 'rsa@host'): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString('ssh-rsa'), mpint(b64url(jwk.e!)), mpint(b64url(jwk.n!))]);
  return `ssh-rsa ${blob.toString('base64')} ${comment}`;
}

export function ecdsaKey(curve: 'nistp256' | 'nistp384' | 'nistp521' = 'nistp256'): string {
  const named = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' }[curve];
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: named });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), b64url(jwk.x!), b64url(jwk.y!)]);
  const type = `ecdsa-sha2-${curve}`;
  return `${type} ${Buffer.concat([sshString(type), sshString(curve), sshString(point)]).toString('base64')}`;
}

/** A key line whose declared type differs from the type inside its data. */
export function mismatchedKey(): string {
  return ed25519Key('').replace(/^ssh-ed25519/, 'ssh-rsa');
}
