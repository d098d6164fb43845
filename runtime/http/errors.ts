/**
 * The one error path of the API: every failure becomes `{ "error": "…" }` with its status.
 * Expected refusals are RequestErrors (status + sentence); body-parser failures are mapped to
 * 400/413/415; a full disk (files or SQLite) is 507; anything else is logged with its stack and
 * answered 500. No answer ever carries an error's own text (a path, a Docker or SQLite message).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.ts';
import { RequestError } from './request-error.ts';

const PARSER_ERRORS: Record<string, [number, string]> = {
  'entity.parse.failed': [400, 'the request body is not valid JSON'],
  'entity.too.large': [413, 'the request body is too large'],
  'encoding.unsupported': [415, 'unsupported content encoding'],
  'charset.unsupported': [415, 'unsupported charset'],
  'request.aborted': [400, 'the request was aborted'],
  'request.size.invalid': [400, 'the request body is shorter or longer than its Content-Length'],
};

export const apiNotFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no such API route: ${req.method} ${req.baseUrl}${req.path}` });
};

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let status = 500;
    let message = 'internal error; the server log has the details';
    const parserError = typeof error?.type === 'string' ? PARSER_ERRORS[error.type] : undefined;
    if (error instanceof RequestError) {
      status = error.status;
      message = error.message;
      const retryAfter = (error as RequestError & { retryAfter?: number }).retryAfter;
      if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
      if ((error as RequestError & { closeConnection?: boolean }).closeConnection) res.setHeader('Connection', 'close');
    } else if (parserError) {
      [status, message] = parserError;
    } else if (error?.code === 'ENOSPC' || error?.code === 'EDQUOT') {
      status = 507;
      message = 'the server has no space left for files; nothing was written — delete files or ask an admin';
    } else if (error instanceof URIError) {
      // express's router could not percent-decode a path parameter, e.g. /api/containers/%E0%A4%A
      status = 400;
      message = 'the request path is not validly percent-encoded';
    } else if (error?.code === 'SQLITE_FULL' || error?.code === 'SQLITE_IOERR') {
      status = 507;
      message = 'the server is out of storage space; try again later';
    } else if (error?.expose === true && Number.isInteger(error.status) && error.status >= 400 && error.status < 500) {
      status = error.status;
      message = String(error.message);
    }
    if (status >= 500) {
      log.error('http.error', { method: req.method, path: req.originalUrl.split('?')[0], status, error: error instanceof Error ? error.stack : String(error) });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json({ error: message });
  };
}
