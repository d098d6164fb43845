/**
 * Request correlation between callers and the pool supervisor. Each request kind has exactly
 * one answer type; a request gets a fresh id, and the answer that carries that id settles it.
 * An answer of the wrong kind for an id is a broken contract: it is logged and the caller gets
 * a 500 instead of a misread answer. Unanswered requests time out with a 504.
 */
import { randomUUID } from 'node:crypto';
import type { PoolEmitted } from '../../machines/events.ts';
import type { Logger } from '../logger.ts';
import { RequestError } from '../http/request-error.ts';

/** The answer type of each request kind. */
export const ANSWER_OF = {
  launch: 'launch.done',
  release: 'release.done',
  resize: 'resize.done',
  reinit: 'reinit.done',
  remove: 'remove.done',
} as const satisfies Record<string, PoolEmitted['type']>;

export type RequestKind = keyof typeof ANSWER_OF;
export type AnswerOf<K extends RequestKind> = Extract<PoolEmitted, { type: (typeof ANSWER_OF)[K] }>;
type AnyAnswer = AnswerOf<RequestKind>;

const ANSWER_TYPES = new Set<string>(Object.values(ANSWER_OF));

export const isAnswer = (event: PoolEmitted): event is AnyAnswer => ANSWER_TYPES.has(event.type);

interface Waiter {
  kind: RequestKind;
  resolve: (answer: AnyAnswer) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class PendingRequests {
  private readonly waiting = new Map<string, Waiter>();

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = 60_000,
  ) {}

  get size() {
    return this.waiting.size;
  }

  /** Send a request built around a fresh id; resolve with its answer. */
  ask<K extends RequestKind>(kind: K, send: (requestId: string) => void): Promise<AnswerOf<K>> {
    const requestId = randomUUID();
    return new Promise<AnswerOf<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new RequestError(504, 'the pool did not answer in time; try again'));
      }, this.timeoutMs);
      this.waiting.set(requestId, { kind, resolve: resolve as (answer: AnyAnswer) => void, reject, timer });
      try {
        send(requestId);
      } catch (error) {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        reject(error as Error);
      }
    });
  }

  /** Settle the request this answer belongs to; false when nobody waits for it. */
  settle(answer: AnyAnswer): boolean {
    const waiter = this.waiting.get(answer.requestId);
    if (!waiter) return false;
    clearTimeout(waiter.timer);
    this.waiting.delete(answer.requestId);
    if (ANSWER_OF[waiter.kind] !== answer.type) {
      this.log.error('pool.answer_mismatch', { requestId: answer.requestId, asked: waiter.kind, answered: answer.type });
      waiter.reject(new Error(`the pool answered a ${waiter.kind} request with ${answer.type}`));
      return true;
    }
    waiter.resolve(answer);
    return true;
  }

  /** Fail every waiting request (the runtime is stopping). */
  cancelAll(reason: string) {
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      this.waiting.delete(id);
      waiter.reject(new RequestError(503, reason));
    }
  }
}
