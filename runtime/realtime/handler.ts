/**
 * Every socket.io handler of the server is registered here, bound to `ClientToServerEvents`
 * (shared/events.ts): the payload a handler validates to and the result it acknowledges with are
 * the types that map declares, so a handler that drifts from the contract does not compile.
 *
 * One call runs in this order:
 *   authorize (who, optional) → validate (what was sent) → act → acknowledge → broadcast.
 * Broadcasts the act caused in the pool are held back with `call.hold(…)` and go out after the
 * acknowledgement, so the caller hears its answer before it hears about the consequences.
 * RequestErrors and InputErrors keep their sentence; anything else is logged and sanitised.
 * Calls of a caller whose session is valid are told to `HandlerOptions.audit` after the
 * acknowledgement, succeeded or refused (socket-audit.ts decides which are recorded).
 */
import type { SlotView } from '../../machines/types.ts';
import type { Ack, AckFn, ClientToServerEvents } from '../../shared/events.ts';
import type { Logger } from '../logger.ts';
import { RequestError } from '../http/request-error.ts';
import type { RealtimeSocket, RealtimeUser } from './socket-types.ts';
import { InputError } from './validate.ts';

export type ClientEvent = keyof ClientToServerEvents;
type Params<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>;
/** The acknowledgement callback of an event: its only parameter, or the one after the payload. */
type AckParam<E extends ClientEvent> =
  Params<E> extends [infer First, ...infer Rest] ? (First extends (...args: never[]) => unknown ? First : Rest extends [(infer A)?] ? A : never) : never;
/** What the client sends with `E` (void when it sends nothing but the ack). */
export type PayloadOf<E extends ClientEvent> = Params<E> extends [infer First, ...unknown[]] ? (First extends (...args: never[]) => unknown ? void : First) : void;
/** What `E` is acknowledged with on success (`{ data: ResultOf<E> }`). */
export type ResultOf<E extends ClientEvent> = NonNullable<AckParam<E>> extends AckFn<infer R> ? R : never;
/** Events whose ack the client may leave out (fire-and-forget keystrokes); the others are refused without one. */
type OptionalAckEvent = { [E in ClientEvent]: Params<E> extends [unknown] | [unknown, unknown] ? never : E }[ClientEvent];
const OPTIONAL_ACK: ReadonlySet<ClientEvent> = new Set<OptionalAckEvent>(['terminal:input', 'terminal:resize']);

/** One call of a handler, as its steps see it. */
export interface Call {
  socket: RealtimeSocket;
  /** The caller as `authorize` left it (the socket's user). */
  user: RealtimeUser;
  /** Hold back relayed slot changes that match until this call has been acknowledged. */
  hold(matches: (slot: SlotView) => boolean): void;
  /** What the audit row of this call should say that its payload and result cannot (see `CallOutcome`). */
  noteForAudit(note: AuditNote): void;
}

export interface AuditNote {
  action?: string;
  target?: string | null;
  extra?: Record<string, string | number | boolean | null>;
}

/** One finished call of a caller whose session was valid: what `HandlerOptions.audit` hears. */
export interface CallOutcome {
  event: ClientEvent;
  socket: RealtimeSocket;
  user: RealtimeUser;
  /** The payload as validated, or as sent when it did not validate. */
  input: unknown;
  ok: boolean;
  /** The result acknowledged, or `{ error }` with the sentence the caller was told. */
  answer: unknown;
  /** The HTTP status the same answer has over HTTP (200, or the refusal's). */
  status: number;
  note: AuditNote | null;
}

/**
 * `I` is what `validate` makes of the payload: the declared payload type, or a stricter one
 * (defaults filled in), never a different one.
 */
export interface Handler<E extends ClientEvent, I extends PayloadOf<E> = PayloadOf<E>> {
  /** Turn what the client sent into the payload type, or throw an InputError with a sentence. */
  validate(raw: unknown): I;
  act(input: I, call: Call): Promise<ResultOf<E>> | ResultOf<E>;
  /** Tell others; runs after the acknowledgement went out, and only on success. */
  broadcast?(result: ResultOf<E>, input: I, call: Call): void;
}

export interface HandlerOptions {
  log: Logger;
  /** Runs first: the caller as of now, or null when their session is over; throws (a RequestError) to refuse. */
  authorize?(socket: RealtimeSocket, event: ClientEvent): Promise<RealtimeUser | null>;
  /** After a caller whose session is over has been told so. */
  sessionEnded?(socket: RealtimeSocket): void;
  /** Relayed slot changes can be held back until a call is acknowledged (see `Call.hold`). */
  hold?(matches: (slot: SlotView) => boolean): () => void;
  /** Hears every call that got past `authorize`, once it has been acknowledged (the audit log). */
  audit?(outcome: CallOutcome): void;
}

/** The HTTP status a refusal has: a RequestError's own, 400 for bad input, else 500. */
export function statusOf(error: unknown): number {
  if (error instanceof RequestError) return error.status;
  if (error instanceof InputError) return 400;
  return 500;
}

/** The sentence a client may see for an error; unknown errors are logged and replaced. */
export function publicMessage(log: Logger, event: string, error: unknown): string {
  if (error instanceof RequestError || error instanceof InputError) return error.message;
  log.error('socket.command_failed', { event, error: error instanceof Error ? error.stack : String(error) });
  return 'internal error; the server log has the details';
}

export function handle<E extends ClientEvent, I extends PayloadOf<E>>(socket: RealtimeSocket, event: E, handler: Handler<E, I>, options: HandlerOptions): void {
  const { log } = options;
  // The one untyped edge: what arrives is whatever the client sent, typed only after `validate`.
  const on = socket.on.bind(socket) as unknown as (event: string, listener: (...args: unknown[]) => void) => void;
  on(event, async (...args: unknown[]) => {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as (response: Ack<ResultOf<E>>) => void) : null;
    if (!ack && !OPTIONAL_ACK.has(event)) {
      log.debug('socket.no_ack', { event });
      return;
    }
    const reply = (response: Ack<ResultOf<E>>) => {
      if (!ack) return;
      try {
        ack(response);
      } catch (error) {
        log.warn('socket.ack_failed', { event, error: String(error) });
      }
    };
    const releases: Array<() => void> = [];
    let note: AuditNote | null = null;
    const call: Call = {
      socket,
      get user() {
        return socket.data.user;
      },
      hold: (matches) => {
        if (options.hold) releases.push(options.hold(matches));
      },
      noteForAudit: (n) => {
        note = { ...note, ...n };
      },
    };
    let authorized = false;
    let input: unknown = args[0];
    const audit = (outcome: Pick<CallOutcome, 'ok' | 'answer' | 'status'>) => {
      if (!authorized || !options.audit) return;
      try {
        options.audit({ event, socket, user: call.user, input, note, ...outcome });
      } catch (error) {
        log.error('socket.audit_failed', { event, error: String(error) });
      }
    };
    try {
      if (options.authorize && !(await options.authorize(socket, event))) {
        reply({ error: 'your session has ended; log in again' });
        options.sessionEnded?.(socket);
        return;
      }
      authorized = true;
      const valid = handler.validate(args[0]);
      input = valid;
      const result = await handler.act(valid, call);
      reply({ data: result });
      audit({ ok: true, answer: result, status: 200 });
      handler.broadcast?.(result, valid, call);
    } catch (error) {
      const message = publicMessage(log, event, error);
      reply({ error: message });
      audit({ ok: false, answer: { error: message }, status: statusOf(error) });
    } finally {
      for (const release of releases) release();
    }
  });
}
