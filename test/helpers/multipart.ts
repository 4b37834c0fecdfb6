/**
 * Raw multipart bodies for `POST …/_trust/tuf/`, byte by byte as the Go client writes them
 * (docs/protocol.md §2.1), with knobs to break them: no filename, odd headers, another subtype, a
 * missing boundary parameter, a missing closing delimiter, a body cut short. Differential tests
 * send the very same bytes to notary-server and to Countersign, so nothing here may depend on
 * the server.
 */

export interface RawPart {
  /** The Content-Disposition `filename` (quoted like Go's mime/multipart); absent: no filename parameter. */
  readonly filename?: string;
  /** The form field name; default `files` (notary ignores it). */
  readonly name?: string;
  readonly data: Buffer | string;
  /** Replaces the whole header block of this part (lines without CRLF). */
  readonly headers?: readonly string[];
}

export interface MultipartOptions {
  /** Default: 60 hex characters, as Go's multipart.Writer. */
  readonly boundary?: string;
  readonly subtype?: 'form-data' | 'mixed';
  /** Leave out the closing `--boundary--` line. */
  readonly unterminated?: boolean;
  /** Keep only the first N bytes of the finished body. */
  readonly truncateAt?: number;
}

export interface MultipartBody {
  readonly body: Buffer;
  readonly contentType: string;
  readonly boundary: string;
}

const CRLF = '\r\n';

/** Go's mime/multipart escapeQuotes. */
function quote(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

let counter = 0;

function defaultBoundary(): string {
  // Unique and free of anything the parts contain (hex of a counter and the time).
  const seed = `${process.pid.toString(16)}${Date.now().toString(16)}${(++counter).toString(16)}`;
  return seed.padStart(60, 'b').slice(-60);
}

export function multipartBody(
  parts: readonly RawPart[],
  opts: MultipartOptions = {}
): MultipartBody {
  const boundary = opts.boundary ?? defaultBoundary();
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const headers = p.headers ?? [
      `Content-Disposition: form-data; name=${quote(p.name ?? 'files')}` +
        (p.filename === undefined ? '' : `; filename=${quote(p.filename)}`),
      'Content-Type: application/octet-stream',
    ];
    chunks.push(Buffer.from(`--${boundary}${CRLF}${headers.map((h) => h + CRLF).join('')}${CRLF}`));
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from(CRLF));
  }
  if (!opts.unterminated) chunks.push(Buffer.from(`--${boundary}--${CRLF}`));
  let body = Buffer.concat(chunks);
  if (opts.truncateAt !== undefined) body = body.subarray(0, opts.truncateAt);
  return {
    body,
    contentType: `multipart/${opts.subtype ?? 'form-data'}; boundary=${boundary}`,
    boundary,
  };
}

/** The parts of a Notary update: one per role, filename = role name, as the Go client sends them. */
export function rolesBody(
  files: Iterable<readonly [string, Buffer]>,
  opts: MultipartOptions = {}
): MultipartBody {
  return multipartBody(
    [...files].map(([filename, data]) => ({ filename, data })),
    opts
  );
}
