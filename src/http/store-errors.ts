/**
 * The store API's error shape (docs/interfaces.md "Store API"): `{"error":{"code","message"}}` with the
 * catalogue's status (src/errors.ts STORE_CODES). Domain code throws `fail('forbidden', …)`; this
 * module is the only place that turns such an error into a response. Anything that is not a
 * store code becomes 500 `internal` and is logged, because a 5xx on client input is a bug.
 */
import type { ErrorRequestHandler, Response } from 'express';
import {
  CountersignError,
  NOTARY_CODES,
  STORAGE_FULL_RETRY_AFTER_S,
  STORE_CODES,
  type StoreCode,
} from '../errors.js';
import type { Logger } from '../util/log.js';

export interface StoreErrorBody {
  readonly error: { readonly code: StoreCode; readonly message: string };
}

export function isStoreCode(code: unknown): code is StoreCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(STORE_CODES, code);
}

export function sendStoreError(
  res: Response,
  code: StoreCode,
  message: string = STORE_CODES[code].message,
  headers: Readonly<Record<string, string>> = {}
): void {
  const body: StoreErrorBody = { error: { code, message } };
  res.status(STORE_CODES[code].status).set(headers).json(body);
}

/**
 * What express itself throws on bad client input: its body parsers (by `type`), and the router's
 * failure to decode a path parameter (`%ff`), a URIError with status 400.
 */
function parserCode(err: unknown): StoreCode | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return 'too_large';
  if (typeof type === 'string' && type.startsWith('entity.')) return 'bad_request';
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') return 'bad_request';
  const status = (err as { status?: unknown } | null)?.status;
  if (err instanceof URIError || status === 400) return 'bad_request';
  return undefined;
}

export function storeErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    void _next;
    let code: StoreCode = 'internal';
    let message: string = STORE_CODES.internal.message;
    let headers: Readonly<Record<string, string>> = {};
    if (err instanceof CountersignError && isStoreCode(err.code)) {
      code = err.code;
      message = err.message;
      headers = err.headers ?? {};
    } else if (err instanceof CountersignError && err.code === 'STORAGE_FULL') {
      code = 'unavailable';
      message = NOTARY_CODES.STORAGE_FULL.message;
      headers = { 'Retry-After': String(STORAGE_FULL_RETRY_AFTER_S) };
    } else {
      const parsed = parserCode(err);
      if (parsed !== undefined) {
        code = parsed;
        message = STORE_CODES[parsed].message;
      }
    }
    if (code === 'internal') {
      log.error(
        {
          method: req.method,
          path: req.path,
          err: err instanceof Error ? err.message : String(err),
        },
        'store API request failed'
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendStoreError(res, code, message, headers);
  };
}
