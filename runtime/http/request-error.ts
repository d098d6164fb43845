/**
 * A refusal the caller can act on: an HTTP status, a sentence for a person, and a short code.
 * Every entry point (HTTP routes, socket.io handlers, the pool runtime) throws these for
 * expected refusals; `errors.ts` turns them into `{ "error": "…" }` answers.
 */
import type { LaunchRefusal } from '../../machines/types.ts';

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'error',
  ) {
    super(message);
  }
}

/** How a refused launch is answered over HTTP. */
export const LAUNCH_REFUSAL_STATUS: Record<LaunchRefusal, number> = {
  'unknown-type': 400,
  'none-free': 409,
  limit: 429,
  error: 503,
};

export const launchRefused = (refusal: LaunchRefusal, message: string) => new RequestError(LAUNCH_REFUSAL_STATUS[refusal], message, refusal);
