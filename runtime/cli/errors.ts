/** Exit codes of the `pooldeck` command and the one error type that carries them. */

export const EXIT = {
  ok: 0,
  /** The server answered but refused or failed the request (4xx other than 401/403, 5xx). */
  failed: 1,
  /** Bad usage: unknown command, missing or malformed argument. */
  usage: 2,
  /** The server could not be reached (refused, unknown host, timeout, reset). */
  unreachable: 3,
  /** No token, a token the server does not accept (401), or not an admin (403). */
  auth: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one sentence on stderr, then exits with `code`. */
export class CliError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
    /** For usage errors: the usage line(s) of the command, printed after the sentence. */
    readonly usage?: string,
    /** For server answers: the HTTP status. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export const usageError = (message: string, usage?: string) => new CliError(EXIT.usage, message, usage);
