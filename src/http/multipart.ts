/**
 * The multipart body of `POST …/_trust/tuf/` (docs/protocol.md §2.1–§2.2), parsed with busboy behind
 * this one module.
 *
 * - The role is the raw `filename` parameter (RFC 2045/2231 unquoted), never its basename:
 *   `targets/releases` must stay whole (`preservePath: true`). The form field name is ignored.
 * - `multipart/form-data` and `multipart/mixed` are accepted; anything else is MALFORMED_UPLOAD.
 * - Stricter than notary-server, which drops the connection on a truncated body and has no size
 *   limits: a truncated or zero-byte body is MALFORMED_UPLOAD, and the whole body, each part and
 *   the number of parts are capped (TOO_LARGE, 413), checked while streaming, before parsing JSON.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { CountersignError } from '../errors.js';
import type { UploadedPart } from '../notary/update.js';
import { BodyPace, DEFAULT_BODY_PACE, type BodyPaceLimits } from './body-pace.js';

export interface UploadLimits {
  readonly maxBodyBytes: number;
  readonly maxPartBytes: number;
  readonly maxParts: number;
  /** The minimum pace of the body (src/http/body-pace.ts). */
  readonly pace?: BodyPaceLimits;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxBodyBytes: 100 * 1024 * 1024,
  maxPartBytes: 100 * 1024 * 1024,
  maxParts: 1000,
};

const MULTIPART = /^multipart\/(form-data|mixed)\s*;/i;

/**
 * A body declared at least this large is fed to the parser one chunk per turn of the event loop.
 * Over loopback or a fast link a 1 MB body arrives at once, and a stream reads all of it in one
 * turn: the parser's boundary search over every byte then holds the loop for 5–10 ms, and every
 * GET waits (docs/performance.md "Reads during large uploads"). One chunk (64 KiB) per turn
 * bounds that to a fraction of a millisecond and costs the upload a few turns.
 */
export const CHUNK_PER_TURN_BYTES = 64 * 1024;

export function readMultipart(req: IncomingMessage, limits: UploadLimits): Promise<UploadedPart[]> {
  const type = req.headers['content-type'] ?? '';
  if (!MULTIPART.test(type) || !/boundary=/i.test(type))
    return Promise.reject(new CountersignError('MALFORMED_UPLOAD'));
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.maxBodyBytes)
    return Promise.reject(tooLarge(`the body is over ${limits.maxBodyBytes} bytes`));
  return new Promise<UploadedPart[]>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        // busboy only knows form-data; a mixed body has the same framing.
        headers: {
          ...req.headers,
          'content-type': type.replace(/^multipart\/mixed/i, 'multipart/form-data'),
        },
        preservePath: true,
        // busboy signals `limit` when a part reaches fileSize bytes and `partsLimit` when the
        // parts-th part is read; +1 makes both mean "over the cap", so a part or count at the cap passes.
        limits: {
          fileSize: limits.maxPartBytes + 1,
          files: limits.maxParts,
          parts: limits.maxParts + 1,
          fields: limits.maxParts,
        },
      });
    } catch {
      reject(new CountersignError('MALFORMED_UPLOAD'));
      return;
    }
    const parts: UploadedPart[] = [];
    const opened = new PartCounter(boundaryOf(type));
    let failed: CountersignError | undefined;
    let received = 0;
    const pace = new BodyPace(limits.pace ?? DEFAULT_BODY_PACE, (err) => stop(err));
    const stop = (err: CountersignError) => {
      pace.stop();
      if (failed) return;
      failed = err;
      req.unpipe(bb);
      req.resume(); // drain the rest so the 4xx reaches the client
      reject(err);
    };
    bb.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => stop(tooLarge(`a part is over ${limits.maxPartBytes} bytes`)));
      // busboy reports a body that ends inside a part on the part's stream: unhandled, it kills the process.
      stream.on('error', () => stop(new CountersignError('MALFORMED_UPLOAD')));
      stream.on('end', () => {
        if (failed) return;
        const filename = info.filename;
        if (filename === undefined || filename === '')
          return stop(new CountersignError('NO_FILENAME'));
        parts.push({
          role: filename.endsWith('.json') ? filename.slice(0, -5) : filename,
          data: joinPart(chunks),
        });
      });
    });
    bb.on('field', () => stop(new CountersignError('NO_FILENAME')));
    bb.on('filesLimit', () => stop(tooLarge(`more than ${limits.maxParts} parts`)));
    bb.on('partsLimit', () => stop(tooLarge(`more than ${limits.maxParts} parts`)));
    bb.on('fieldsLimit', () => stop(tooLarge(`more than ${limits.maxParts} parts`)));
    bb.on('error', () => stop(new CountersignError('MALFORMED_UPLOAD')));
    bb.on('close', () => {
      if (failed) return;
      // busboy silently skips a part without a form-data Content-Disposition; notary reads every
      // part (NO_FILENAME when it names no file), so a skipped part must not pass as absent.
      pace.stop();
      if (opened.count > parts.length) return stop(new CountersignError('NO_FILENAME'));
      resolve(parts);
    });
    req.on('data', (c: Buffer) => {
      opened.push(c);
      received += c.length;
      pace.received(c.length);
      if (received > limits.maxBodyBytes)
        stop(tooLarge(`the body is over ${limits.maxBodyBytes} bytes`));
    });
    req.on('aborted', () => stop(new CountersignError('MALFORMED_UPLOAD')));
    if (declared >= CHUNK_PER_TURN_BYTES) feedChunkPerTurn(req, bb, () => failed !== undefined);
    else req.pipe(bb);
  });
}

/**
 * A part's bytes in one Buffer. A large part's memory is a SharedArrayBuffer: the upload worker
 * (src/notary/validate-worker.ts) then reads the same bytes instead of a copy, one megabyte less
 * to copy and to collect on the event loop per 10,000-target upload.
 */
function joinPart(chunks: readonly Buffer[]): Buffer {
  let total = 0;
  for (const c of chunks) total += c.length;
  if (total < CHUNK_PER_TURN_BYTES) return Buffer.concat(chunks, total);
  const out = Buffer.from(new SharedArrayBuffer(total));
  let at = 0;
  for (const c of chunks) at += c.copy(out, at);
  return out;
}

/** Writes `req` into `parser` one chunk per turn of the event loop (CHUNK_PER_TURN_BYTES). */
function feedChunkPerTurn(req: IncomingMessage, parser: busboy.Busboy, stopped: () => boolean) {
  req.on('data', (chunk: Buffer) => {
    if (stopped()) return; // the rest is drained unread, as with unpipe
    parser.write(chunk);
    req.pause();
    setImmediate(() => req.resume());
  });
  req.on('end', () => {
    if (!stopped()) parser.end();
  });
}

/** The boundary parameter of a multipart Content-Type (quoted or a token); '' if absent. */
function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string)) : '';
}

/** Counts the parts a body opens: delimiter lines up to the closing one, across chunk edges. */
class PartCounter {
  count = 0;
  private readonly delimiter: Buffer;
  private carry = Buffer.from('\r\n'); // the first delimiter has no CRLF before it
  private closed = false;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    if (boundary === '') this.closed = true;
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    const buf = Buffer.concat([this.carry, chunk]);
    const d = this.delimiter.length;
    for (let from = 0; ;) {
      const at = buf.indexOf(this.delimiter, from);
      if (at < 0) {
        this.carry = buf.subarray(Math.max(from, buf.length - d - 1));
        return;
      }
      if (at + d + 2 > buf.length) {
        this.carry = buf.subarray(at);
        return;
      }
      if (buf[at + d] === 0x2d && buf[at + d + 1] === 0x2d) {
        this.closed = true;
        return;
      }
      this.count++;
      from = at + d;
    }
  }
}

function tooLarge(why: string): CountersignError {
  return new CountersignError('TOO_LARGE', undefined, { detail: why });
}
