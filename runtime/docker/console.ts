/**
 * Going into a running container: an interactive shell, its log, its resource numbers. The
 * socket layer (runtime/realtime/container-access.ts) decides who may; this only does.
 *
 * Contract:
 * - `shell()` starts a login shell (`/bin/bash` if the image has it, else `/bin/sh`) with a
 *   TTY of the given size, as `user` (the image's own user when not given), in `workdir`.
 *   `close()` ends the shell and every process started from it (hang-up, then kill a second
 *   later) and resolves once they are gone; it is idempotent. `onExit` fires exactly once,
 *   whether the shell exited by itself or was closed.
 * - `logs()` sends the last `tail` lines and, with `follow`, new lines as they are written,
 *   until `stop()` or the container goes away (then `onEnd`).
 * - `stats()` reports about once a second until `stop()` or the container goes away.
 * - Errors carry the container id they concern (EngineError).
 */
import type { LogLine, StatsSample } from '../../shared/console-events.ts';

export interface ShellOptions {
  user?: string;
  workdir?: string;
  cols: number;
  rows: number;
}

export interface Shell {
  /** Who the shell runs as. */
  readonly user: string;
  /**
   * Type into the shell. False (and nothing written) when the shell already has more than its
   * bound of typed input it did not read: a client cannot make the server hold more.
   */
  write(data: string): boolean;
  resize(cols: number, rows: number): Promise<void>;
  /** Stop reading output for a while (the client is slow); `resume()` starts again. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
  onOutput(listener: (data: string) => void): void;
  onExit(listener: (code: number | null) => void): void;
}

export interface LogOptions {
  tail: number;
  follow: boolean;
}

export interface Subscription {
  stop(): void;
  /** Stop reading for a while (the client is behind); Docker holds what comes meanwhile. */
  pause(): void;
  resume(): void;
}

export interface ContainerConsole {
  shell(containerId: string, options: ShellOptions): Promise<Shell>;
  logs(containerId: string, options: LogOptions, onLines: (lines: LogLine[]) => void, onEnd: (error?: string) => void): Promise<Subscription>;
  stats(containerId: string, onSample: (sample: RawStats) => void, onEnd: (error?: string) => void): Promise<Subscription>;
}

// ---- what Docker's stats endpoint sends, and the numbers people read ----

export interface CpuUsage {
  cpu_usage: { total_usage: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** The subset of one `GET /containers/{id}/stats` reading that matters here. */
export interface RawStats {
  read: string;
  cpu_stats: CpuUsage;
  precpu_stats: CpuUsage;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  pids_stats?: { current?: number };
}

/** One computed reading: the wire's StatsSample without the stream handle and the CPU limit. */
export type Usage = Omit<StatsSample, 'handle' | 'cpuLimit'>;

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

/**
 * The numbers `docker stats` shows, from one reading and the previous result: CPU relative to
 * one core, memory without the inactive page cache (cgroup v1 `total_inactive_file`, v2
 * `inactive_file`), network totals over every interface and their rate since `previous`.
 */
export function usageOf(raw: RawStats, previous: Usage | null): Usage {
  const at = Date.parse(raw.read) || Date.now();
  const cpuDelta = raw.cpu_stats.cpu_usage.total_usage - (raw.precpu_stats.cpu_usage?.total_usage ?? 0);
  const systemDelta = (raw.cpu_stats.system_cpu_usage ?? 0) - (raw.precpu_stats.system_cpu_usage ?? 0);
  const cpus = raw.cpu_stats.online_cpus || raw.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;

  const m = raw.memory_stats;
  const usage = m.usage ?? 0;
  const inactive = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? 0;
  const memoryBytes = inactive < usage ? usage - inactive : usage;
  const memoryLimitBytes = m.limit ?? 0;

  let rxBytes = 0;
  let txBytes = 0;
  for (const n of Object.values(raw.networks ?? {})) {
    rxBytes += n.rx_bytes;
    txBytes += n.tx_bytes;
  }
  const seconds = previous ? (at - previous.at) / 1000 : 0;
  const rate = (now: number, before: number | undefined) => (seconds > 0 && before !== undefined && now >= before ? round((now - before) / seconds, 0) : 0);

  return {
    at,
    cpuPercent: round(cpuPercent),
    memoryBytes,
    memoryLimitBytes,
    memoryPercent: memoryLimitBytes > 0 ? round((memoryBytes / memoryLimitBytes) * 100) : 0,
    rxBytes,
    txBytes,
    rxRate: rate(rxBytes, previous?.rxBytes),
    txRate: rate(txBytes, previous?.txBytes),
    pids: raw.pids_stats?.current ?? 0,
  };
}

/** Splits a byte stream into lines; a line cut across chunks is kept until its end arrives. */
export class LineSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder('utf-8');

  /** A line longer than `maxLine` characters (a container may never write a newline) comes in pieces of that size. */
  constructor(private readonly maxLine = 16 * 1024) {}

  push(chunk: Uint8Array): string[] {
    const text = this.rest + this.decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    const out = lines.map((l) => l.replace(/\r$/, ''));
    while (this.rest.length > this.maxLine) {
      out.push(this.rest.slice(0, this.maxLine));
      this.rest = this.rest.slice(this.maxLine);
    }
    return out;
  }

  /** What is left when the stream ends (a last line without a newline). */
  flush(): string[] {
    const last = this.rest + this.decoder.decode();
    this.rest = '';
    return last ? [last] : [];
  }
}

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian length) into stdout and stderr bytes, across chunk boundaries.
 */
export class FrameDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onFrame: (source: 'stdout' | 'stderr', payload: Buffer) => void): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const source = this.pending[0] === 2 ? 'stderr' : 'stdout';
      onFrame(source, this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
  }
}
