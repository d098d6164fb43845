/** A tiny API client for black-box tests: JSON in/out, a session cookie or a bearer token. */
import type { TestDeck } from '../support/server.ts';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class Client {
  cookie: string | null = null;
  token: string | null = null;
  constructor(readonly base: string, readonly name = 'anonymous') {}

  /** Any request; `body` objects are sent as JSON, strings/Buffers/FormData as they are. */
  async call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = {};
    if (this.token) h.authorization = `Bearer ${this.token}`;
    if (this.cookie) {
      h.cookie = this.cookie;
      h.origin = this.base;
    }
    let payload: BodyInit | undefined;
    if (body instanceof FormData || typeof body === 'string' || body instanceof Uint8Array) payload = body as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers: { ...h, ...headers }, body: payload }).catch((error: Error) => {
      throw new Error(`${method} ${path}: ${error.message} (${String((error.cause as Error | undefined)?.message ?? error.cause)})`);
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    const setCookie = res.headers.get('set-cookie');
    if (setCookie?.startsWith('pooldeck_session=')) {
      const value = setCookie.split(';')[0];
      this.cookie = value === 'pooldeck_session=' ? null : value;
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get = <T = any>(path: string, headers?: Record<string, string>) => this.call<T>('GET', path, undefined, headers);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.call<T>('POST', path, body, headers);
  put = <T = any>(path: string, body?: unknown) => this.call<T>('PUT', path, body);
  del = <T = any>(path: string) => this.call<T>('DELETE', path);
}

let counter = 0;
export const uniqueName = (prefix = 'u') => `${prefix}${process.pid % 1000}${Date.now() % 100000}${counter++}`;

/** Register a fresh user and log in (session cookie). */
export async function newUser(deck: Pick<TestDeck, 'url'>, prefix = 'u', password = 'correct horse battery'): Promise<Client> {
  const username = uniqueName(prefix);
  const client = new Client(deck.url, username);
  const reg = await client.post('/api/auth/register', { username, email: `${username}@example.test`, password });
  if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await client.post('/api/auth/login', { username, password });
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
  return client;
}

/** Register a fresh user and switch it to an API token (no cookie). */
export async function newTokenUser(deck: Pick<TestDeck, 'url'>, prefix = 't'): Promise<Client> {
  const client = await newUser(deck, prefix);
  const created = await client.post('/api/tokens', { name: 'tests' });
  if (created.status !== 201) throw new Error(`token: ${created.status} ${JSON.stringify(created.body)}`);
  client.cookie = null;
  client.token = created.body.token;
  return client;
}

export async function adminClient(deck: TestDeck): Promise<Client> {
  const client = new Client(deck.url, 'admin');
  const login = await client.post('/api/auth/login', { username: 'admin', password: deck.env.POOLDECK_ADMIN_PASSWORD });
  if (login.status !== 200) throw new Error(`admin login: ${login.status} ${JSON.stringify(login.body)}`);
  return client;
}

/** A multipart body with the given files (name → content). */
export function form(files: Record<string, string | Uint8Array<ArrayBuffer>>): FormData {
  const data = new FormData();
  for (const [name, content] of Object.entries(files)) data.append('file', new Blob([content]), name);
  return data;
}

/** A hand-made multipart body, for file names that FormData would not send as they are. */
export function rawMultipart(parts: Array<{ disposition: string; content: string | Buffer }>): { body: Buffer; contentType: string } {
  const boundary = `----pooldeck${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; ${part.disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1'));
    chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
