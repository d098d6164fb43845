/**
 * Every conversation with the Pooldeck server: JSON over fetch for accounts, files and admin
 * changes, and one typed socket.io connection for everything live. Errors become `ApiError`s
 * whose message is the server's sentence.
 */
import { io, type Socket } from 'socket.io-client';
import {
  SOCKET_PATH,
  type Ack,
  type AckFn,
  type AdminSlot,
  type ClientToServerEvents,
  type HistorySample,
  type LiveContainer,
  type PoolCounts,
  type ServerToClientEvents,
} from '../../../shared/events.ts';

export type PoolSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface User {
  id: number;
  username: string;
  email: string;
  isAdmin: boolean;
}

export interface FileEntry {
  name: string;
  size: number;
  modified?: string;
}

export interface UserRow {
  id: number;
  username: string;
  email: string;
  is_admin: boolean;
  created_at: string;
  containers: number;
}

export interface TokenRow {
  id: number;
  name: string;
  created_at: string;
  last_used_at?: string | null;
}

// ---- Account page (SSH keys) — types ----
/** A saved SSH public key (`public_key` is "type base64", without the comment). */
export interface SshKeyRow {
  id: number;
  public_key: string;
  comment: string;
  fingerprint?: string;
  created_at: string;
}
// ---- end Account page types ----


export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  actorId: number | null;
  action: string;
  target: string | null;
  ok: boolean;
  status: number | null;
  ip: string | null;
  detail: Record<string, unknown>;
}

export type RegistrationMode = 'open' | 'invite' | 'closed';

import type { InviteRow, SessionView as SessionRow } from '../../../shared/accounts.ts';
export type { InviteRow, SessionRow };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'the server cannot be reached; check your connection');
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = (data as { error?: unknown } | null)?.error;
    throw new ApiError(res.status, typeof message === 'string' ? message : `the server answered ${res.status} ${res.statusText}`);
  }
  return data as T;
}

const seg = encodeURIComponent;

export const http = {
  me: () => call<{ user: User }>('GET', '/api/me').then((r) => r.user),
  /** Who this browser is signed in as; null for a visitor (never an error status). */
  session: () => call<{ user: User | null }>('GET', '/api/session').then((r) => r.user),
  login: (username: string, password: string) => call<{ user: User }>('POST', '/api/auth/login', { username, password }).then((r) => r.user),
  register: (username: string, email: string, password: string, invite?: string) =>
    call<{ user: User }>('POST', '/api/auth/register', { username, email, password, ...(invite ? { invite } : {}) }).then((r) => r.user),
  registrationMode: () => call<{ mode: RegistrationMode }>('GET', '/api/auth/registration').then((r) => r.mode),
  logout: () => call<unknown>('POST', '/api/auth/logout'),

  files: (id: number) => call<{ files: FileEntry[] }>('GET', `/api/containers/${id}/files`).then((r) => r.files),
  deleteFile: (id: number, name: string) => call<unknown>('DELETE', `/api/containers/${id}/files/${seg(name)}`),
  /** ssh containers, owner only: the login of this assignment (`keys`: how many saved keys it accepts). */
  credentials: (id: number) => call<{ username: string; password: string; keys: number; ssh?: string }>('GET', `/api/containers/${id}/credentials`),

  tokens: () => call<{ tokens: TokenRow[] }>('GET', '/api/tokens').then((r) => r.tokens),
  createToken: (name: string) => call<{ token: string; id: number; name: string }>('POST', '/api/tokens', { name }),
  revokeToken: (id: number) => call<unknown>('DELETE', `/api/tokens/${id}`),

  // ---- Account page (SSH keys) — calls ----
  keys: () => call<{ keys: SshKeyRow[] }>('GET', '/api/me/keys').then((r) => r.keys),
  /** One OpenSSH public key line; a refused key rejects with the server's 400 sentence. */
  addKey: (key: string) => call<{ key: SshKeyRow }>('POST', '/api/me/keys', { key }).then((r) => r.key),
  deleteKey: (id: number) => call<unknown>('DELETE', `/api/me/keys/${id}`),
  changePassword: (current: string, password: string) => call<{ endedSessions: number }>('PUT', '/api/me/password', { current, password }),
  sessions: () => call<{ sessions: SessionRow[] }>('GET', '/api/me/sessions').then((r) => r.sessions),
  endSession: (id: number) => call<{ current: boolean }>('DELETE', `/api/me/sessions/${id}`),
  deleteAccount: (password: string) => call<{ released: string[] }>('DELETE', '/api/me', { password }),
  // ---- end Account page calls ----

  users: () => call<{ users: UserRow[] }>('GET', '/api/admin/users').then((r) => r.users),
  /** Isolation problems of this installation the operator must fix (sessions exposed, host firewall missing). */
  securityWarnings: () => call<{ warnings: Array<{ id: string; message: string }> }>('GET', '/api/admin/security').then((r) => r.warnings),
  deleteUser: (id: number) => call<{ released: string[] }>('DELETE', `/api/admin/users/${id}`),
  pool: () => call<{ slots: AdminSlot[]; counts: PoolCounts; sizes: Record<string, number> }>('GET', '/api/admin/pool'),
  resize: (type: string, size: number) => call<{ result: { added: string[]; retired: string[]; kept: number; message?: string } }>('POST', '/api/admin/pool/resize', { type, size }).then((r) => r.result),
  addToPool: (type: string, count: number) => call<{ result: { added: string[] } }>('POST', '/api/admin/pool/add', { type, count }).then((r) => r.result),
  history: (hours: number) => call<{ sampleMs: number; samples: HistorySample[] }>('GET', `/api/admin/history?hours=${hours}`),
  reinit: () => call<{ result: { recreated: string[]; skipped: string[] } }>('POST', '/api/admin/pool/reinit').then((r) => r.result),
  audit: (query: Record<string, string>) =>
    call<{ entries: AuditRow[]; next: number | null }>('GET', `/api/admin/audit?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== ''))}`),
  // ---- registration (admin) ----
  registration: () => call<{ mode: RegistrationMode; invites: InviteRow[] }>('GET', '/api/admin/registration'),
  setRegistration: (mode: RegistrationMode) => call<{ mode: RegistrationMode }>('PUT', '/api/admin/registration', { mode }).then((r) => r.mode),
  createInvite: (uses: number, hours: number, note: string) => call<{ invite: InviteRow & { code: string } }>('POST', '/api/admin/invites', { uses, hours, note }).then((r) => r.invite),
  deleteInvite: (id: number) => call<unknown>('DELETE', `/api/admin/invites/${id}`),
  adminRelease: (name: string) => call<{ name: string; user: string }>('DELETE', `/api/admin/containers/${seg(name)}`),
  /** One slot: stop its container (the pool starts it again) / remove it (the pool recreates it) / take it out of the pool. */
  restartSlot: (name: string) => call<{ name: string }>('POST', `/api/admin/slots/${seg(name)}/restart`),
  recreateSlot: (name: string) => call<{ name: string }>('POST', `/api/admin/slots/${seg(name)}/recreate`),
  removeSlot: (name: string) => call<{ name: string; released: string | null }>('DELETE', `/api/admin/slots/${seg(name)}`),
};

/**
 * Upload files into a container with progress (0..1). fetch cannot report upload progress,
 * XMLHttpRequest can. Same-origin XHR sends the Origin header the server's CSRF check wants.
 */
export function uploadFiles(id: number, files: File[], onProgress: (fraction: number) => void): Promise<FileEntry[]> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append('files', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/containers/${id}/files`);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let data: { files?: FileEntry[]; error?: string } | null = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(data?.files ?? []);
      } else reject(new ApiError(xhr.status, data?.error ?? `the upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload was interrupted; check your connection'));
    xhr.onabort = () => reject(new ApiError(0, 'the upload was cancelled'));
    xhr.send(form);
  });
}

// ---- the live connection ----

type Params<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>;
type Payload<E extends keyof ClientToServerEvents> = Params<E> extends [unknown] ? [] : Params<E> extends [infer P, unknown] ? [P] : never;
type Answer<E extends keyof ClientToServerEvents> = Params<E> extends [...unknown[], AckFn<infer T>] ? T : never;

let socket: PoolSocket | null = null;

/** Open (or return) the socket; the session cookie authenticates it. */
export function connectSocket(): PoolSocket {
  if (!socket) socket = io({ path: SOCKET_PATH, withCredentials: true, reconnectionDelayMax: 5000 });
  return socket;
}

export function disconnectSocket(): void {
  socket?.disconnect();
  socket?.removeAllListeners();
  socket = null;
}

export const currentSocket = () => socket;

/** Send a command and wait for its acknowledgement; rejects with the server's sentence. */
export function ask<E extends keyof ClientToServerEvents>(event: E, ...payload: Payload<E>): Promise<Answer<E>> {
  return new Promise((resolve, reject) => {
    const s = socket;
    if (!s) return reject(new ApiError(0, 'not connected; log in first'));
    const timer = setTimeout(() => reject(new ApiError(0, 'the server did not answer in time; try again')), 30_000);
    const ack = (response: Ack<Answer<E>>) => {
      clearTimeout(timer);
      if ('error' in response) reject(new ApiError(400, response.error));
      else resolve(response.data);
    };
    (s.emit as (event: string, ...args: unknown[]) => void)(event, ...payload, ack);
  });
}

export type { LiveContainer };

/** An error as words for the page. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
