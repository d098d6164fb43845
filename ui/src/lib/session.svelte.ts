/**
 * Who is signed in, and the live connection that feeds every other store. On each (re)connect
 * the stores fetch their full state again, so nothing missed while offline stays missing.
 */
import { connectSocket, describe, disconnectSocket, http, type User } from './api.ts';
import { containers } from './containers.svelte.ts';
import { history } from './history.svelte.ts';
import { inspector } from './inspector.svelte.ts';
import { monitor } from './monitor.svelte.ts';
import { pool } from './pool.svelte.ts';

export type Connection = 'offline' | 'connecting' | 'live';

class Session {
  user = $state<User | null>(null);
  checked = $state(false);
  connection = $state<Connection>('offline');
  problem = $state('');

  async load(): Promise<void> {
    try {
      this.user = await http.session();
    } catch (error) {
      this.problem = describe(error);
      this.user = null;
    }
    this.checked = true;
    if (this.user) this.goLive();
  }

  async login(username: string, password: string): Promise<void> {
    this.user = await http.login(username, password);
    this.problem = '';
    this.goLive();
  }

  async register(username: string, email: string, password: string, invite?: string): Promise<void> {
    await http.register(username, email, password, invite);
    await this.login(username, password);
  }

  async logout(): Promise<void> {
    try {
      await http.logout();
    } finally {
      this.end();
    }
  }

  /** Forget everything of the previous user. */
  end(): void {
    disconnectSocket();
    this.connection = 'offline';
    this.user = null;
    containers.reset();
    pool.reset();
    monitor.reset();
    inspector.reset();
    history.reset();
  }

  private async resync(): Promise<void> {
    const admin = this.user?.isAdmin === true;
    try {
      await Promise.all([containers.sync(), admin ? pool.sync() : null, admin ? monitor.sync() : null, admin ? inspector.sync() : null, admin && history.loaded ? history.sync() : null]);
      this.problem = '';
    } catch (error) {
      this.problem = `could not load the current state: ${describe(error)}`;
    }
  }

  private goLive(): void {
    disconnectSocket();
    const socket = connectSocket();
    this.connection = 'connecting';
    containers.attach(socket);
    pool.attach(socket);
    monitor.attach(socket);
    inspector.attach(socket);
    history.attach(socket);
    socket.on('connect', () => {
      this.connection = 'live';
      void this.resync();
    });
    socket.on('disconnect', () => {
      this.connection = 'connecting';
    });
    socket.on('session:ended', () => this.end());
    socket.on('connect_error', async () => {
      this.connection = 'connecting';
      // The server refused us (or is restarting). Still signed in? Then try again shortly.
      let still: boolean;
      try {
        still = (await http.session()) !== null;
      } catch {
        still = true; // the server is unreachable or restarting: keep trying
      }
      if (!still) return this.end();
      setTimeout(() => {
        if (!socket.connected && this.user) socket.connect();
      }, 2500);
    });
  }
}

export const session = new Session();
