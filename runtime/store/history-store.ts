/**
 * The pool's history for the monitor's charts, in SQLite so it survives a restart.
 *
 * Contract:
 * - `add()` stores one fine sample (one every few seconds). Fine samples older than
 *   `fineKeepMs` are folded into coarse buckets of `coarseMs` (5 min) by `compact()`, which
 *   keeps coarse buckets for `coarseKeepMs` (2 days): a day and more at little cost.
 * - Folding: slot counts take the bucket's last sample, launches and recoveries add up, p50
 *   becomes the launch-weighted mean of the p50s and p99 the largest p99 (an upper bound: exact
 *   percentiles cannot be rebuilt from percentiles), recovery time the weighted mean and max.
 * - `since(at)` returns coarse then fine samples, oldest first, never two for the same moment.
 */
import type { HistorySample } from '../../shared/events.ts';
import type { Db } from './db.ts';

export const HISTORY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS history (
    pool_name TEXT NOT NULL,
    coarse INTEGER NOT NULL,
    at INTEGER NOT NULL,
    sample TEXT NOT NULL,
    PRIMARY KEY (pool_name, coarse, at)
  )`,
];

export interface HistoryRetention {
  fineKeepMs: number;
  coarseMs: number;
  coarseKeepMs: number;
}

export const DEFAULT_RETENTION: HistoryRetention = { fineKeepMs: 3 * 3600_000, coarseMs: 5 * 60_000, coarseKeepMs: 2 * 86_400_000 };

export class SqliteHistoryStore {
  private ready: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly poolName: string,
    readonly retention: HistoryRetention = DEFAULT_RETENTION,
  ) {}

  private init(): Promise<void> {
    this.ready ??= (async () => {
      for (const statement of HISTORY_SCHEMA) await this.db.exec(statement);
    })();
    return this.ready;
  }

  async add(sample: HistorySample): Promise<void> {
    await this.init();
    await this.db.run('INSERT OR REPLACE INTO history (pool_name, coarse, at, sample) VALUES (?, 0, ?, ?)', this.poolName, sample.at, JSON.stringify(sample));
  }

  async since(at: number): Promise<HistorySample[]> {
    await this.init();
    const rows = await this.db.all<Array<{ coarse: number; sample: string }>>(
      'SELECT coarse, sample FROM history WHERE pool_name = ? AND at >= ? ORDER BY at, coarse DESC',
      this.poolName,
      at,
    );
    const out: HistorySample[] = [];
    for (const row of rows) {
      const sample = JSON.parse(row.sample) as HistorySample;
      if ((out.at(-1)?.at ?? -Infinity) >= sample.at) continue;
      out.push(sample);
    }
    return out;
  }

  /** Fold fine samples older than the fine window into coarse buckets; forget what is too old. */
  async compact(now: number): Promise<void> {
    await this.init();
    const { fineKeepMs, coarseMs, coarseKeepMs } = this.retention;
    const cutoff = Math.floor((now - fineKeepMs) / coarseMs) * coarseMs;
    const old = await this.db.all<Array<{ sample: string }>>('SELECT sample FROM history WHERE pool_name = ? AND coarse = 0 AND at < ? ORDER BY at', this.poolName, cutoff);
    const buckets = new Map<number, HistorySample[]>();
    for (const row of old) {
      const sample = JSON.parse(row.sample) as HistorySample;
      const start = Math.floor(sample.at / coarseMs) * coarseMs;
      buckets.set(start, [...(buckets.get(start) ?? []), sample]);
    }
    await this.db.exec('BEGIN');
    try {
      for (const [start, samples] of buckets) {
        const existing = await this.db.get<{ sample: string }>('SELECT sample FROM history WHERE pool_name = ? AND coarse = 1 AND at = ?', this.poolName, start);
        const all = existing ? [JSON.parse(existing.sample) as HistorySample, ...samples] : samples;
        await this.db.run('INSERT OR REPLACE INTO history (pool_name, coarse, at, sample) VALUES (?, 1, ?, ?)', this.poolName, start, JSON.stringify(fold(start, coarseMs, all)));
      }
      await this.db.run('DELETE FROM history WHERE pool_name = ? AND coarse = 0 AND at < ?', this.poolName, cutoff);
      await this.db.run('DELETE FROM history WHERE pool_name = ? AND coarse = 1 AND at < ?', this.poolName, now - coarseKeepMs);
      await this.db.exec('COMMIT');
    } catch (error) {
      await this.db.exec('ROLLBACK');
      throw error;
    }
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Many samples (oldest first) as one covering `ms` from `at`. */
export function fold(at: number, ms: number, samples: HistorySample[]): HistorySample {
  const last = samples.at(-1);
  if (!last) throw new Error('fold needs at least one sample');
  const launches = sum(samples.map((s) => s.launches));
  const recoveries = sum(samples.map((s) => s.recoveries));
  const timed = samples.filter((s) => s.launchP50Ms !== null && s.launches > 0);
  const recovered = samples.filter((s) => s.recoveryMeanMs !== null && s.recoveries > 0);
  return {
    at,
    ms,
    slots: last.slots,
    launches,
    failedLaunches: sum(samples.map((s) => s.failedLaunches)),
    launchP50Ms: timed.length ? sum(timed.map((s) => s.launchP50Ms! * s.launches)) / sum(timed.map((s) => s.launches)) : null,
    launchP99Ms: timed.length ? Math.max(...timed.map((s) => s.launchP99Ms ?? 0)) : null,
    recoveries,
    recoveryMeanMs: recovered.length ? sum(recovered.map((s) => s.recoveryMeanMs! * s.recoveries)) / sum(recovered.map((s) => s.recoveries)) : null,
    recoveryMaxMs: recovered.length ? Math.max(...recovered.map((s) => s.recoveryMaxMs ?? 0)) : null,
  };
}
