/**
 * Raw HTTP reads of a notary-compatible server for the notary interop tests: the exact bytes
 * and status of `…/_trust/tuf/…` URLs (checked against the hashes and lengths the timestamp and
 * snapshot promise), the changefeed, and the Prometheus request counters.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServerUnderTest } from './server-under-test.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Date.now() when the last byte arrived. */
  receivedAt: number;
}

/** One request to `sut.url + path` (https verified against the server's CA). */
export function fetchRaw(
  sut: ServerUnderTest,
  path: string,
  opts: { method?: string; timeoutMs?: number } = {}
): Promise<RawResponse> {
  return new Promise((resolvePromise, reject) => {
    const u = new URL(sut.url + path);
    const common = { method: opts.method ?? 'GET', timeout: opts.timeoutMs ?? 5_000 };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { ...common, ca: sut.caFile ? readFileSync(sut.caFile) : undefined })
        : httpRequest(u, common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () =>
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          receivedAt: Date.now(),
        })
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

/** `/v2/<gun>/_trust/tuf/<file>` */
export const tufPath = (gun: string, file: string): string => `/v2/${gun}/_trust/tuf/${file}`;

/** GET that must answer 200; returns the bytes. */
export async function getOk(sut: ServerUnderTest, path: string): Promise<Buffer> {
  const r = await fetchRaw(sut, path);
  if (r.status !== 200) {
    throw new Error(`GET ${path}: expected 200, got ${r.status}: ${r.body.toString('utf8')}`);
  }
  return r.body;
}

export interface FileMeta {
  hashes: { sha256: string; sha512?: string };
  length: number;
}

export interface Signed<T> {
  signed: T & { _type: string; version: number; expires: string };
  signatures: { keyid: string; method: string; sig: string }[];
}

export interface RootSigned {
  keys: Record<string, { keytype: string; keyval: { public: string; private: null } }>;
  roles: Record<string, { keyids: string[]; threshold: number }>;
}

export interface SnapshotSigned {
  meta: Record<string, FileMeta>;
}

export interface TargetsSigned {
  targets: Record<string, { hashes: { sha256: string }; length: number }>;
  delegations?: { keys: Record<string, unknown>; roles: { name: string; keyids: string[] }[] };
}

export const parseSigned = <T>(b: Buffer): Signed<T> => JSON.parse(b.toString('utf8')) as Signed<T>;

export async function getSigned<T>(
  sut: ServerUnderTest,
  gun: string,
  file: string
): Promise<Signed<T>> {
  return parseSigned<T>(await getOk(sut, tufPath(gun, file)));
}

export const sha256Hex = (b: Buffer | string): string =>
  createHash('sha256').update(b).digest('hex');

/** The FileMeta notary would write for these bytes (standard base64 hashes). */
export function fileMetaOf(b: Buffer): FileMeta {
  return {
    hashes: {
      sha256: createHash('sha256').update(b).digest('base64'),
      sha512: createHash('sha512').update(b).digest('base64'),
    },
    length: b.length,
  };
}

/** Lower-case hex of a base64 hash from metadata (the form by-checksum URLs use). */
export const b64ToHex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

export interface ChangeRecord {
  ID: string;
  CreatedAt: string;
  GUN: string;
  Version: number;
  SHA256: string;
  Category: string;
}

export async function changefeed(
  sut: ServerUnderTest,
  query = 'records=10',
  gun?: string
): Promise<{ count: number; records: ChangeRecord[] }> {
  const path =
    gun === undefined ? `/v2/_trust/changefeed?${query}` : `/v2/${gun}/_trust/changefeed?${query}`;
  return JSON.parse((await getOk(sut, path)).toString('utf8')) as {
    count: number;
    records: ChangeRecord[];
  };
}

/** `notary_server_http_requests_total` for one operation/method/code, from GET /metrics. */
export async function requestCount(
  sut: ServerUnderTest,
  labels: { operation: string; method?: string; code?: string }
): Promise<number> {
  const text = (await getOk(sut, '/metrics')).toString('utf8');
  const want = {
    operation: labels.operation,
    method: labels.method ?? 'get',
    code: labels.code ?? '200',
  };
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^notary_server_http_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/.exec(line);
    if (!m) continue;
    const found = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!])
    );
    if (Object.entries(want).every(([k, v]) => found[k] === v)) total += Number(m[2]);
  }
  return total;
}
