/**
 * Slows password guessing per (username, client address): the first `freeFailures` failures
 * cost nothing; every failure after that locks the pair for base·2^(n-freeFailures) ms, capped.
 * While locked, a login is refused without checking the password (so the lock cannot be used
 * as an oracle). A success clears the record. In memory: a restart forgets, which is acceptable
 * for slowing down, not for auditing.
 */
export interface ThrottleOptions {
  freeFailures?: number;
  baseMs?: number;
  maxMs?: number;
  /** Forget a record this long after its last failure. */
  forgetMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly freeFailures: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly forgetMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseMs = options.baseMs ?? 1000;
    this.maxMs = options.maxMs ?? 15 * 60_000;
    this.forgetMs = options.forgetMs ?? 60 * 60_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  private key(username: string, ip: string) {
    return `${username.toLowerCase()}\u0000${ip}`;
  }

  /** Milliseconds until this pair may try again; 0 when it may try now. */
  retryAfterMs(username: string, ip: string): number {
    const entry = this.entries.get(this.key(username, ip));
    if (!entry) return 0;
    const now = this.now();
    if (now - entry.lastFailure > this.forgetMs) {
      this.entries.delete(this.key(username, ip));
      return 0;
    }
    return Math.max(0, entry.lockedUntil - now);
  }

  failed(username: string, ip: string): void {
    const key = this.key(username, ip);
    const now = this.now();
    const entry = this.entries.get(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    entry.failures += 1;
    entry.lastFailure = now;
    if (entry.failures >= this.freeFailures) {
      const exponent = Math.min(entry.failures - this.freeFailures, 30);
      entry.lockedUntil = now + Math.min(this.maxMs, this.baseMs * 2 ** exponent);
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.prune(now);
  }

  succeeded(username: string, ip: string): void {
    this.entries.delete(this.key(username, ip));
  }

  private prune(now: number) {
    for (const [key, entry] of this.entries) {
      if (now - entry.lastFailure > this.forgetMs || this.entries.size > this.maxEntries) this.entries.delete(key);
      else break;
    }
  }
}
