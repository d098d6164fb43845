/**
 * OpenSSH public key lines (`type base64 [comment]`), checked for real: the declared type must be
 * one we accept, the base64 must be canonical, and the wire-format blob must carry the same type
 * string and the fields that type needs. The result is a normalised single line, so a key can
 * never smuggle a newline into the container's authorized_keys.
 */
import { createHash } from 'node:crypto';

export const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

export interface ParsedKey {
  type: string;
  blob: string;
  comment: string;
  /** `type base64` — what is stored and handed to containers. */
  key: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export class KeyError extends Error {}

const MAX_LINE = 16 * 1024;
const EC_POINT_BYTES: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(): Buffer {
    if (this.offset + 4 > this.buf.length) throw new KeyError('the key data is truncated');
    const length = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    if (length > this.buf.length - this.offset) throw new KeyError('the key data is truncated');
    const out = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
  text(): string {
    return this.bytes().toString('latin1');
  }
  get done(): boolean {
    return this.offset === this.buf.length;
  }
}

function checkBody(type: string, r: Reader) {
  if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    if (r.bytes().length !== 32) throw new KeyError('an ed25519 key must hold 32 bytes');
  } else if (type === 'ssh-rsa') {
    const e = r.bytes();
    const n = r.bytes();
    if (e.length === 0 || n.length === 0) throw new KeyError('the RSA key data is incomplete');
    const bits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (bits < 2048) throw new KeyError(`RSA keys must have at least 2048 bits (this one has about ${bits})`);
  } else {
    const curve = type.replace(/^sk-/, '').replace(/@openssh\.com$/, '').replace('ecdsa-sha2-', '');
    if (r.text() !== curve) throw new KeyError(`the curve inside the key does not match ${type}`);
    const point = r.bytes();
    if (point.length !== EC_POINT_BYTES[curve] || point[0] !== 4) throw new KeyError(`the ${curve} public point is malformed`);
  }
  if (type.startsWith('sk-')) r.text(); // application, usually "ssh:"
  if (!r.done) throw new KeyError('the key data has trailing bytes');
}

/** Parse one OpenSSH public key line; throws KeyError with a sentence for the user. */
export function parsePublicKey(input: string): ParsedKey {
  const line = input.trim();
  if (line.length === 0) throw new KeyError('the key is empty');
  if (line.length > MAX_LINE) throw new KeyError('the key is too long');
  if (/[\r\n\0]/.test(line)) throw new KeyError('paste exactly one key, on one line');
  const [type = '', blob, ...rest] = line.split(/[ \t]+/);
  if (!(KEY_TYPES as readonly string[]).includes(type)) {
    throw new KeyError(`unsupported key type "${type.slice(0, 40)}"; use one of ${KEY_TYPES.join(', ')} (options before the key are not accepted)`);
  }
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new KeyError('the key data is not base64');
  const data = Buffer.from(blob, 'base64');
  if (data.toString('base64') !== blob) throw new KeyError('the key data is not canonical base64');
  const reader = new Reader(data);
  const embedded = reader.text();
  if (embedded !== type) throw new KeyError(`the key says it is ${type} but its data is ${embedded.slice(0, 40) || 'something else'}`);
  checkBody(type, reader);
  const comment = rest.join(' ').replace(/[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').slice(0, 200);
  const fingerprint = 'SHA256:' + createHash('sha256').update(data).digest('base64').replace(/=+$/, '');
  return { type, blob, comment, key: `${type} ${blob}`, fingerprint };
}

export function fingerprintOf(key: string): string {
  const blob = key.split(' ')[1] ?? '';
  return 'SHA256:' + createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
}
