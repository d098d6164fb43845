/**
 * The CLI's HTTP client: JSON in, JSON out, bearer token, and every failure turned into a
 * CliError whose exit code says who is at fault (unreachable server, auth, refusal).
 */
import { CliError, EXIT, usageError } from './errors.ts';

export const DEFAULT_URL = 'http://127.0.0.1:5000';
const DEFAULT_TIMEOUT_MS = 120_000;

export interface RequestOptions {
  body?: unknown;
  /** Extra headers (login sends the session cookie and Origin). */
  headers?: Record<string, string>;
  /** Send without the bearer token even if one is configured. */
  anonymous?: boolean;
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

/** Check a --url / POOLDECK_URL value and return it without trailing slashes. */
export function normaliseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`"${raw}" is not a URL; give the server's address, e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`"${raw}" must be an http:// or https:// URL`);
  if (url.search || url.hash) throw usageError(`"${raw}" must not carry a query or fragment`);
  return url.href.replace(/\/+$/, '');
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is self-signed',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name',
};

function networkReason(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  if (e?.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  if ((e?.cause as Error | undefined)?.message === 'bad port') return 'Node\'s fetch refuses that port (it is on the "bad ports" list, like 1, 25 or 6000)';
  let cause: unknown = e;
  for (let i = 0; i < 4 && cause; i++) {
    const c = cause as { code?: string; errors?: unknown[]; cause?: unknown };
    const reason = c.code ? NETWORK_REASONS[c.code] : undefined;
    if (reason) return reason;
    if (Array.isArray(c.errors) && c.errors.length) cause = c.errors[0];
    else cause = c.cause;
  }
  const c = (e?.cause ?? e) as { code?: string; message?: string };
  return c?.code ? `${c.message ?? c.code}`.toLowerCase() : String(c?.message ?? error);
}

export class ApiClient {
  readonly url: string;

  constructor(
    url: string,
    readonly token: string | undefined,
  ) {
    this.url = normaliseUrl(url);
  }

  /** The Origin this server expects on cookie-authenticated writes. */
  get origin(): string {
    return new URL(this.url).origin;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (!options.anonymous) {
      if (!this.token) throw new CliError(EXIT.auth, 'no token: set POOLDECK_TOKEN or pass --token (get one with "pooldeck login")');
      headers.authorization = `Bearer ${this.token}`;
    }
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new CliError(EXIT.unreachable, `cannot reach ${this.url}: ${networkReason(error, timeoutMs)}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      throw new CliError(EXIT.unreachable, `lost the connection to ${this.url} while reading its answer: ${networkReason(error, timeoutMs)}`);
    }
    const isJson = (res.headers.get('content-type') ?? '').includes('json');
    let data: unknown = undefined;
    if (text && isJson) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new CliError(EXIT.failed, `${this.url} answered ${method} ${path} with malformed JSON (HTTP ${res.status})`, undefined, res.status);
      }
    }
    if (!res.ok) throw this.refusal(method, path, res.status, data, isJson);
    if (text && !isJson) {
      throw new CliError(EXIT.failed, `${this.url} answered ${method} ${path} with ${res.headers.get('content-type') || 'something'} instead of JSON; is this a Pooldeck server of the same version?`, undefined, res.status);
    }
    return { status: res.status, data: data as T, headers: res.headers };
  }

  private refusal(method: string, path: string, status: number, data: unknown, isJson: boolean): CliError {
    const serverMessage = typeof (data as { error?: unknown })?.error === 'string' ? ((data as { error: string }).error) : null;
    const said = serverMessage ? `: ${serverMessage.replace(/\.$/, '')}` : '';
    if (status === 401) return new CliError(EXIT.auth, `the server did not accept the credentials (401)${said}; get a token with "pooldeck login"`, undefined, status);
    if (status === 403) return new CliError(EXIT.auth, `permission denied (403)${said}; these commands need an admin's token`, undefined, status);
    if (status === 404 && !isJson) return new CliError(EXIT.failed, `the server has no ${method} ${path} (404); is it a Pooldeck server of the same version?`, undefined, status);
    if (status >= 300 && status < 400) return new CliError(EXIT.failed, `the server redirected ${method} ${path} (HTTP ${status}); check --url`, undefined, status);
    return new CliError(EXIT.failed, serverMessage ? `${serverMessage.replace(/\.$/, '')} (HTTP ${status})` : `the server answered ${method} ${path} with HTTP ${status}`, undefined, status);
  }

  get<T = unknown>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options).then((r) => r.data);
  }

  post<T = unknown>(path: string, body: unknown = {}, options?: RequestOptions) {
    return this.request<T>('POST', path, { ...options, body }).then((r) => r.data);
  }

  put<T = unknown>(path: string, body: unknown = {}, options?: RequestOptions) {
    return this.request<T>('PUT', path, { ...options, body }).then((r) => r.data);
  }

  delete<T = unknown>(path: string, options?: RequestOptions) {
    return this.request<T>('DELETE', path, options).then((r) => r.data);
  }
}
