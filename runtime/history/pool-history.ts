/**
 * Samples the pool for the monitor's charts: every `sampleMs` one `HistorySample` (slot counts
 * per type and state at that moment; launches, their p50/p99 time, recoveries and their
 * duration since the previous sample), stored through SqliteHistoryStore and emitted as
 * 'sample' for live viewers. Fed by what the PoolRuntime emits ('launch', 'recovery'), like
 * the Prometheus metrics, so the charts and /metrics agree.
 */
import { EventEmitter } from 'node:events';
import type { HistorySample, PoolCounts } from '../../shared/events.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime, RuntimeEvents } from '../pool/pool-runtime.ts';
import type { SqliteHistoryStore } from '../store/history-store.ts';

type Runtime = Pick<PoolRuntime, 'counts'> & EventEmitter<RuntimeEvents>;

export interface PoolHistoryOptions {
  sampleMs: number;
  /** How often old samples are folded (default: every 5 minutes). */
  compactMs?: number;
  now?: () => number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

export class PoolHistory extends EventEmitter<{ sample: [HistorySample] }> {
  private launchMs: number[] = [];
  private failedLaunches = 0;
  private recoveryMs: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastCompact = 0;
  private readonly now: () => number;
  private readonly onLaunch = (e: RuntimeEvents['launch'][0]) => {
    if (e.ok) this.launchMs.push(e.ms);
    else this.failedLaunches += 1;
  };
  private readonly onRecovery = (e: RuntimeEvents['recovery'][0]) => {
    this.recoveryMs.push(e.durationMs);
  };

  constructor(
    private readonly runtime: Runtime,
    readonly store: SqliteHistoryStore,
    private readonly log: Logger,
    readonly options: PoolHistoryOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.runtime.on('launch', this.onLaunch);
    this.runtime.on('recovery', this.onRecovery);
    this.timer = setInterval(() => void this.sample(), this.options.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.runtime.off('launch', this.onLaunch);
    this.runtime.off('recovery', this.onRecovery);
  }

  /** Take one sample now (the timer calls this; tests may too). */
  async sample(): Promise<HistorySample | null> {
    let slots: PoolCounts;
    try {
      slots = this.runtime.counts();
    } catch {
      return null; // the pool has not started yet
    }
    const launches = [...this.launchMs].sort((a, b) => a - b);
    const recoveries = this.recoveryMs;
    const sample: HistorySample = {
      at: this.now(),
      ms: this.options.sampleMs,
      slots,
      launches: launches.length,
      failedLaunches: this.failedLaunches,
      launchP50Ms: percentile(launches, 50),
      launchP99Ms: percentile(launches, 99),
      recoveries: recoveries.length,
      recoveryMeanMs: recoveries.length ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length : null,
      recoveryMaxMs: recoveries.length ? Math.max(...recoveries) : null,
    };
    this.launchMs = [];
    this.failedLaunches = 0;
    this.recoveryMs = [];
    this.emit('sample', sample);
    try {
      await this.store.add(sample);
      if (sample.at - this.lastCompact >= (this.options.compactMs ?? 5 * 60_000)) {
        this.lastCompact = sample.at;
        await this.store.compact(sample.at);
      }
    } catch (error) {
      this.log.warn('history.store_failed', { error: (error as Error).message });
    }
    return sample;
  }

  /** What the charts start from: the stored history of the last `ms`. */
  recent(ms: number): Promise<HistorySample[]> {
    return this.store.since(this.now() - ms);
  }
}
