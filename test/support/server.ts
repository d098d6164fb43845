/**
 * Start a real Pooldeck (real dockerd, real SQLite) for a black-box test: its own pool name,
 * data directory and port ranges, container ports published on 127.0.0.1, HTTP on port 0.
 * Several of these can run at once on one dockerd without touching each other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger, silentLogger, type Logger } from '../../runtime/logger.ts';
import { startPooldeck, type Pooldeck } from '../../runtime/server.ts';

const TYPES = ['nginx', 'apache', 'python', 'node', 'ssh'];

/** A block of host ports for one test server: 20 per type, chosen at random in 20000-59999. */
export function portRanges(): Record<string, string> {
  const base = 20000 + Math.floor(Math.random() * 390) * 100;
  return Object.fromEntries(TYPES.map((t, i) => [`POOLDECK_PORTS_${t.toUpperCase()}`, `${base + i * 20}-${base + i * 20 + 19}`]));
}

export interface TestDeck extends Pooldeck {
  url: string;
  env: Record<string, string>;
  /** Stop the server and remove its containers, network and data. */
  destroy(): Promise<void>;
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-test-'));
  return {
    POOLDECK_DATA: dataDir,
    POOLDECK_PORT: '0',
    POOLDECK_HOST: '127.0.0.1',
    POOLDECK_BIND: '127.0.0.1',
    POOLDECK_POOL_NAME: `t${process.pid}x${Math.floor(Math.random() * 1e6)}`,
    POOLDECK_POOL: 'nginx=2',
    POOLDECK_ADMIN_PASSWORD: 'admin-password-for-tests',
    POOLDECK_LOG_LEVEL: process.env.POOLDECK_TEST_LOG ? 'debug' : 'error',
    // Every test client comes from 127.0.0.1: the per-address budgets would count them as one
    // person. Tests of those budgets set them again.
    POOLDECK_LOGIN_PER_ADDRESS: '0',
    POOLDECK_REGISTER_PER_HOUR: '0',
    ...portRanges(),
    ...overrides,
  };
}

export async function startTestDeck(overrides: Record<string, string> = {}, env = testEnv(overrides), options: { log?: Logger } = {}): Promise<TestDeck> {
  const config = loadConfig(env);
  const log = options.log ?? (process.env.POOLDECK_TEST_LOG ? createLogger('debug', { pool: config.poolName }) : silentLogger);
  const deck = await startPooldeck(config, { log });
  return {
    ...deck,
    env,
    url: `http://127.0.0.1:${deck.port}`,
    async destroy() {
      await deck.stop();
      await removePool(config.poolName);
      rmSync(env.POOLDECK_DATA, { recursive: true, force: true });
    },
  };
}

/** Remove every container and the network of a pool (test cleanup). */
export async function removePool(poolName: string): Promise<void> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  const containers = await docker.listContainers({ all: true, filters: { label: [`pooldeck.pool=${poolName}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  await docker.getNetwork(`pooldeck_${poolName}`).remove().catch(() => undefined);
}

/** GET a URL and return status and body (never throws on HTTP errors). */
export async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, init);
    return { status: res.status, body: await res.text() };
  } catch (error) {
    return { status: 0, body: String((error as Error).cause ?? error) };
  }
}

export { eventually } from './eventually.ts';
