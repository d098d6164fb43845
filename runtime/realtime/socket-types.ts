/**
 * The socket.io server and socket types every realtime module shares, bound to the event maps of
 * shared/events.ts. A leaf module: it imports types only, so the realtime modules can all use it
 * without importing each other.
 */
import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.ts';

export interface RealtimeUser {
  id: number;
  username: string;
  isAdmin: boolean;
}

/** What a socket authenticated with: a session cookie or an `Authorization: Bearer` token. */
export interface Credentials {
  cookie?: string;
  authorization?: string;
}

export type Authenticate = (credentials: Credentials) => Promise<RealtimeUser | null>;

export interface SocketData {
  user: RealtimeUser;
  credentials: Credentials;
  /** When `user` was last checked against the credentials (ms since the epoch). */
  checkedAt: number;
}

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
