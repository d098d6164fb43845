/**
 * The operator's record of who did what and when. Entries are queued and written in batches
 * (one INSERT per event-loop turn), so recording never waits on SQLite in a request's path;
 * `flush()` waits for what is queued (tests, shutdown). Rows older than the retention are
 * pruned at start and then every `pruneEveryMs`.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import type { RuntimeEvents } from '../pool/runtime-events.ts';
import type { AuditEntry, AuditQuery, AuditRecord, SqliteAuditStore } from '../store/audit-store.ts';

export interface AuditOptions {
  retentionDays: number;
  pruneEveryMs?: number;
  now?: () => number;
}

export class AuditLog {
  private queue: AuditEntry[] = [];
  private writing: Promise<void> = Promise.resolve();
  private scheduled = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: SqliteAuditStore,
    private readonly log: Logger,
    private readonly options: AuditOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.store.init();
    await this.prune();
    if (this.options.retentionDays > 0) {
      this.pruneTimer = setInterval(() => void this.prune(), this.options.pruneEveryMs ?? 3600_000);
      this.pruneTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.flush();
  }

  record(entry: Omit<AuditEntry, 'at'> & { at?: Date }): void {
    this.queue.push({ ...entry, at: entry.at ?? new Date(this.now()) });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.queue;
      this.queue = [];
      this.writing = this.writing
        .then(() => this.store.insert(batch))
        .catch((error) => this.log.error('audit.write_failed', { rows: batch.length, error: String(error) }));
    });
  }

  /** Resolves once everything recorded so far is in SQLite. */
  async flush(): Promise<void> {
    while (this.scheduled || this.queue.length) await new Promise((r) => setImmediate(r));
    await this.writing;
  }

  async list(query: AuditQuery): Promise<AuditRecord[]> {
    await this.flush();
    return this.store.list(query);
  }

  async prune(): Promise<number> {
    if (this.options.retentionDays <= 0) return 0;
    const cutoff = new Date(this.now() - this.options.retentionDays * 86_400_000);
    try {
      const removed = await this.store.prune(cutoff);
      if (removed) this.log.info('audit.pruned', { removed, before: cutoff.toISOString() });
      return removed;
    } catch (error) {
      this.log.error('audit.prune_failed', { error: String(error) });
      return 0;
    }
  }
}

/**
 * The supervisor's own actions, as `system`: recoveries, moves, stranded assignments, expiries;
 * and a held slot back after an admin's restart or recreate, as that admin (not a recovery).
 */
export function auditPool(audit: AuditLog, pool: EventEmitter<RuntimeEvents>): () => void {
  const system = { actorId: null, actor: 'system' } as const;
  const onRecovery = (e: RuntimeEvents['recovery'][0]) =>
    audit.record({ ...system, action: 'pool.recovered', target: e.name, ok: true, detail: { assignment: e.assignment.id, user: e.assignment.username, durationMs: e.durationMs, attempts: e.attempts } });
  const onMoved = (e: RuntimeEvents['moved'][0]) =>
    audit.record({ ...system, action: 'pool.moved', target: e.to, ok: true, detail: { from: e.from, to: e.to, assignment: e.assignment.id, user: e.assignment.username } });
  const onStranded = (e: RuntimeEvents['stranded'][0]) =>
    audit.record({ ...system, action: 'pool.stranded', target: e.name, ok: false, detail: { assignment: e.assignment.id, user: e.assignment.username, message: e.message } });
  // Not a recovery: the rebuild after an admin's restart or recreate, under that admin's name.
  const onRestarted = (e: RuntimeEvents['restarted'][0]) =>
    audit.record({ actorId: e.by.id, actor: e.by.username, action: e.kind === 'restart' ? 'admin.slot.restarted' : 'admin.slot.recreated', target: e.name, ok: true, detail: { assignment: e.assignment.id, user: e.assignment.username, durationMs: e.durationMs, attempts: e.attempts } });
  const onExpired = (e: RuntimeEvents['expired'][0]) =>
    audit.record({ ...system, action: 'pool.expired', target: e.name, ok: true, detail: { assignment: e.assignment.id, user: e.assignment.username, reason: e.reason } });
  pool.on('recovery', onRecovery);
  pool.on('moved', onMoved);
  pool.on('stranded', onStranded);
  pool.on('expired', onExpired);
  pool.on('restarted', onRestarted);
  return () => {
    pool.off('restarted', onRestarted);
    pool.off('recovery', onRecovery);
    pool.off('moved', onMoved);
    pool.off('stranded', onStranded);
    pool.off('expired', onExpired);
  };
}
