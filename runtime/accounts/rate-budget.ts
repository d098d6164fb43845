/**
 * A budget of `limit` actions per `windowMs` for each key (a client address), as a token bucket:
 * a key may spend its whole budget at once, then earns it back evenly over the window. In memory,
 * bounded: the stalest keys are forgotten first. `limit` 0 means no limit.
 */
export interface RateBudgetOptions {
  limit: number;
  windowMs: number;
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateBudget {
  private readonly buckets = new Map<string, Bucket>();
  readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: RateBudgetOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Spend one action of `key`: 0 when allowed, else the milliseconds until one is available again. */
  take(key: string): number {
    if (this.limit <= 0) return 0;
    const now = this.now();
    const bucket = this.refilled(key, now);
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) * this.windowMs) / this.limit);
    bucket.tokens -= 1;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return 0;
  }

  /** Give back an action that was not spent after all. */
  refund(key: string): void {
    const bucket = this.buckets.get(key);
    if (bucket) bucket.tokens = Math.min(this.limit, bucket.tokens + 1);
  }

  private refilled(key: string, now: number): Bucket {
    const bucket = this.buckets.get(key) ?? { tokens: this.limit, at: now };
    bucket.tokens = Math.min(this.limit, bucket.tokens + ((now - bucket.at) * this.limit) / this.windowMs);
    bucket.at = now;
    return bucket;
  }
}
