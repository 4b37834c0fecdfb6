/**
 * Notary's error envelope (docs/protocol.md §1.3): `{"errors":[{"code","message","detail"}]}` from
 * Go's encoding/json (HTML-escaped, trailing newline), `detail` omitted when absent, one element,
 * kept under the 1 KiB the Go client reads. Domain errors that are not Notary codes become
 * UNKNOWN 500 — and are logged, because a 5xx on client input is a bug.
 */
import type { ServerResponse } from 'node:http';
import {
  CountersignError,
  NOTARY_CODES,
  type NotaryCode,
  type NotaryDetail,
  type ValidationDetail,
} from '../errors.js';
import { goJson } from './go-format.js';

export interface NotaryErrorBody {
  readonly status: number;
  readonly body: string;
  readonly code: NotaryCode;
}

const MAX_DETAIL_STRING = 600;

export function notaryErrorBody(err: unknown): NotaryErrorBody {
  let code: NotaryCode = 'UNKNOWN';
  let detail: NotaryDetail | undefined = {};
  if (err instanceof CountersignError && err.code in NOTARY_CODES) {
    code = err.code as NotaryCode;
    detail = err.detail;
  }
  const entry: Record<string, unknown> = { code, message: NOTARY_CODES[code].message };
  if (detail !== undefined) entry.detail = clip(detail);
  return { status: NOTARY_CODES[code].status, body: goJson({ errors: [entry] }), code };
}

/** Long messages (say, a huge role name echoed back) are cut so the whole body stays under 1 KiB. */
function clip(detail: NotaryDetail): NotaryDetail {
  if (typeof detail === 'string')
    return detail.length > MAX_DETAIL_STRING ? detail.slice(0, MAX_DETAIL_STRING) + '…' : detail;
  if (isValidationDetail(detail) && detail.Error.Msg.length > MAX_DETAIL_STRING) {
    const Msg = detail.Error.Msg.slice(0, MAX_DETAIL_STRING) + '…';
    return { ...detail, Error: { ...detail.Error, Msg } };
  }
  return detail;
}

function isValidationDetail(d: NotaryDetail): d is ValidationDetail {
  return (
    typeof d === 'object' &&
    !Array.isArray(d) &&
    typeof (d as Partial<ValidationDetail>).Name === 'string'
  );
}

/** Writes an error envelope as the answer; returns the number of body bytes sent. */
export function writeNotaryError(
  res: ServerResponse,
  e: NotaryErrorBody,
  extraHeaders: Readonly<Record<string, string>> = {}
): number {
  const body = Buffer.from(e.body);
  res.writeHead(e.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.length,
    ...extraHeaders,
  });
  res.end(body);
  return body.length;
}
