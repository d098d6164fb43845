/**
 * bcrypt in a small pool of worker threads, so password checks never stall the event loop.
 *
 * Contract: `hash` and `compare` answer like bcryptjs's; at most `maxQueued` jobs wait or run at
 * once (the global budget for password work) — one more is refused at once with PasswordBusy,
 * which costs no CPU. A worker that dies fails only its own job and is replaced.
 * The worker is `password-worker.js`, a plain ES module next to this file (tsx and compiled JS alike).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export class PasswordBusy extends Error {}

type Job = { id: number; op: 'hash'; password: string; rounds: number } | { id: number; op: 'compare'; password: string; hash: string };
interface Pending {
  job: Job;
  resolve(value: unknown): void;
  reject(error: Error): void;
}
interface Slot {
  worker: Worker;
  current: Pending | null;
}

export interface PasswordHasherOptions {
  /** Worker threads (default: cores - 1, at least 1, at most 4). */
  workers?: number;
  /** Jobs waiting or running at once before new ones are refused (default 64). */
  maxQueued?: number;
}

export const WORKER_URL = new URL('./password-worker.js', import.meta.url);

export class PasswordHasher {
  private readonly size: number;
  readonly maxQueued: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Jobs answered so far (a number for tests and metrics). */
  done = 0;

  constructor(options: PasswordHasherOptions = {}) {
    this.size = Math.max(1, options.workers ?? Math.min(4, availableParallelism() - 1));
    this.maxQueued = Math.max(1, options.maxQueued ?? 64);
  }

  /** Jobs waiting or running now. */
  get load(): number {
    return this.queue.length + this.slots.filter((s) => s.current).length;
  }

  hash(password: string, rounds: number): Promise<string> {
    return this.submit({ id: this.nextId++, op: 'hash', password, rounds }) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.submit({ id: this.nextId++, op: 'compare', password, hash }) as Promise<boolean>;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('the password hasher was closed'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private submit(job: Job): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the password hasher was closed'));
    if (this.load >= this.maxQueued) return Promise.reject(new PasswordBusy('too many password checks at once'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.current);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const pending = this.queue.shift()!;
      slot.current = pending;
      slot.worker.ref(); // a job in flight keeps the process alive; an idle worker does not
      slot.worker.postMessage(pending.job);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { execArgv: [] });
    worker.unref();
    const slot: Slot = { worker, current: null };
    worker.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
      const pending = slot.current;
      if (!pending || pending.job.id !== reply.id) return;
      slot.current = null;
      this.done += 1;
      worker.unref();
      if (reply.error !== undefined) pending.reject(new Error(reply.error));
      else pending.resolve(reply.result);
      this.dispatch();
    });
    const lost = (error: Error) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      this.slots.splice(index, 1);
      slot.current?.reject(error);
      slot.current = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`password worker exited (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }
}
