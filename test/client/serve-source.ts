/**
 * A tiny static Notary server for client tests: answers `GET /v2/<gun>/_trust/tuf/<file>` from a
 * MetadataSource (current, by checksum, by version) on 127.0.0.1, 404 for anything else, and logs
 * what was asked. Good for serving a built repository or a copy of a real one with one file altered.
 * With `tls` (PEM certificate and key) it serves HTTPS.
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MAX_ROOT_BYTES, type MetadataSource } from '../../src/client/source.js';

export interface StaticNotary {
  readonly url: string;
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Parses `<v>.<role>.json`, `<role>.<sha256>.json` or `<role>.json`. */
export function parseMetaFile(
  file: string
): { role: string; version?: number; checksum?: string } | undefined {
  if (!file.endsWith('.json')) return undefined;
  const stem = file.slice(0, -'.json'.length);
  const byVersion = /^(\d+)\.(.+)$/.exec(stem);
  if (byVersion) return { role: byVersion[2]!, version: Number(byVersion[1]) };
  const byChecksum = /^(.+)\.([0-9a-f]{64})$/.exec(stem);
  if (byChecksum) return { role: byChecksum[1]!, checksum: byChecksum[2]! };
  return { role: stem };
}

export async function serveSource(
  source: MetadataSource,
  gun: string,
  tls?: { readonly certFile: string; readonly keyFile: string }
): Promise<StaticNotary> {
  const prefix = `/v2/${gun}/_trust/tuf/`;
  const requests: string[] = [];
  const answer: RequestListener = (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const send = (bytes: Buffer | null) => {
      if (bytes === null) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(
          '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist.","detail":null}]}'
        );
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
      res.end(bytes);
    };
    if (path === '/v2/' || path === '/_notary_server/health') return send(Buffer.from('{}'));
    const m = path.startsWith(prefix) ? parseMetaFile(path.slice(prefix.length)) : undefined;
    if (!m) return send(null);
    const pending =
      m.version !== undefined
        ? source.getByVersion(gun, m.role, m.version, MAX_ROOT_BYTES)
        : m.checksum !== undefined
          ? source.getByChecksum(gun, m.role, m.checksum, MAX_ROOT_BYTES)
          : source.getCurrent(gun, m.role, MAX_ROOT_BYTES);
    pending.then(send, () => {
      res.writeHead(500);
      res.end();
    });
  };
  const server: Server = tls
    ? createHttpsServer(
        { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
        answer
      )
    : createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
