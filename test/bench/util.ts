/** Small helpers shared by the benchmark's parts: timing, percentiles, raw HTTP, free port blocks, the machine. */
import { execFileSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export const QUICK = process.env.BENCH_QUICK === '1';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
export const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);
export const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

/** Every measured figure, by part; written to test-results/bench.json. */
export const results: Record<string, any> = {};
/** Run in reverse order at the end, whatever happened. */
export const cleanups: Array<() => Promise<unknown>> = [];

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

export function stats(values: number[]): Stats {
  return { n: values.length, p50: round(percentile(values, 50), 2), p99: round(percentile(values, 99), 2), min: round(Math.min(...values), 2), max: round(Math.max(...values), 2) };
}

export interface RawReply {
  status: number;
  body: string;
}

/**
 * One HTTP request with node:http. `agent: false` opens a fresh TCP connection (and closes it);
 * a keep-alive Agent reuses its connection. Never throws: status 0 on a network error.
 */
export function httpCall(
  port: number,
  method: string,
  urlPath: string,
  options: { agent?: Agent | false; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: options.agent ?? false, headers: options.headers, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(options.body);
  });
}

/** GET on a fresh connection (no keep-alive), so a recreated container is never hit through a stale socket. */
export const rawGet = (port: number, urlPath = '/', timeoutMs = 2000) => httpCall(port, 'GET', urlPath, { timeoutMs });

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A block of `size` host ports that nothing listens on, outside the test suites' 20000-59999 and the ephemeral range. */
export function freePortBlock(size: number, avoid: Array<[number, number]> = []): number {
  const listening = new Set(
    execFileSync('ss', ['-Htln'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(/:(\d+)\s/.exec(l.split(/\s+/)[3] + ' ')?.[1]))
      .filter(Boolean),
  );
  const [low, high] = execFileSync('cat', ['/proc/sys/net/ipv4/ip_local_port_range'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  const forbidden: Array<[number, number]> = [[0, 1023], [20000, 59999], [low!, high!], ...avoid];
  const candidates = [...Array.from({ length: 450 }, (_, i) => 61000 + i * 10), ...Array.from({ length: 900 }, (_, i) => 10000 + i * 10)];
  for (const base of candidates) {
    const end = base + size - 1;
    if (end > 65535) continue;
    if (forbidden.some(([a, b]) => base <= b && end >= a)) continue;
    let free = true;
    for (let p = base; p <= end && free; p++) free = !listening.has(p);
    if (free) return base;
  }
  throw new Error(`no free block of ${size} ports`);
}

export function machine() {
  const cpus = os.cpus();
  let dockerVersion = '?';
  try {
    dockerVersion = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported as ? */
  }
  return {
    cpu: cpus[0]?.model.trim() ?? '?',
    cores: cpus.length,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    docker: dockerVersion,
    node: process.version,
    at: new Date().toISOString(),
  };
}

/** The machine's 1-minute load average, sampled through the run: other work on the machine skews every number. */
export const load = { samples: [] as number[], timer: null as NodeJS.Timeout | null };
export function sampleLoad() {
  load.samples.push(os.loadavg()[0]!);
  load.timer = setInterval(() => load.samples.push(os.loadavg()[0]!), 5000);
  load.timer.unref();
}
