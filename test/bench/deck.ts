/**
 * Drive the benchmark's server processes (test/bench/deck-process.ts),
 * compiled like the production server (build/bench/, by buildBench) and run with plain node and
 * the flags of the systemd unit: start one, send commands by id, listen to its events, stop or kill it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { buildServer } from '../../ops/scripts/build-server.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const outdir = path.join(root, 'build', 'bench');
/** The production flags (ops/systemd/pooldeck.service), plus gc() for the after-GC figures. */
export const NODE_FLAGS = ['--max-semi-space-size=2', '--expose-gc'];

/** Compile the server and the benchmark's server processes into build/bench/. */
export async function buildBench(): Promise<number> {
  const { ms } = await buildServer({ outdir, entries: { 'deck-process': 'test/bench/deck-process.ts' } });
  return ms;
}

export interface SlotEvent {
  event: 'slot';
  name: string;
  state: string;
  phase: string;
  at: number;
}

export interface BenchDeck {
  proc: ChildProcess;
  port: number;
  url: string;
  /** The server's own time from start to a settled pool (runtime.start), as it reported it. */
  bootMs?: number;
  send<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T>;
  onEvent(listener: (event: SlotEvent | { event: 'recovery'; name: string; durationMs: number; at: number }) => void): () => void;
  stop(): Promise<void>;
  kill(): Promise<void>;
  stderr(): string;
}

export async function startBenchDeck(env: Record<string, string>, timeoutMs = 15 * 60_000, script = 'deck-process'): Promise<BenchDeck> {
  const proc = spawn(process.execPath, [...NODE_FLAGS, path.join(outdir, `${script}.js`)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const pending = new Map<number, (answer: Record<string, unknown>) => void>();
  const listeners = new Set<(event: never) => void>();
  let onReady: ((port: number) => void) | null = null;
  let bootMs: number | undefined;
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.ready) {
      bootMs = typeof message.bootMs === 'number' ? message.bootMs : undefined;
      onReady?.(message.port as number);
    }
    else if (typeof message.id === 'number') {
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    } else if (message.event) for (const l of listeners) l(message as never);
  });
  const port = await new Promise<number>((resolve, reject) => {
    onReady = resolve;
    proc.once('exit', (code) => reject(new Error(`deck exited ${code}: ${err.slice(-3000)}`)));
    setTimeout(() => reject(new Error(`deck not ready after ${timeoutMs} ms: ${err.slice(-3000)}`)), timeoutMs).unref();
  });
  let nextId = 1;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    bootMs,
    send<T>(op: string, args: Record<string, unknown> = {}) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, (answer) => (answer.ok ? resolve(answer as T) : reject(new Error(String(answer.error)))));
        proc.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
      });
    },
    onEvent(listener) {
      listeners.add(listener as never);
      return () => listeners.delete(listener as never);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.stdin!.write(JSON.stringify({ id: nextId++, op: 'stop' }) + '\n');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
}
