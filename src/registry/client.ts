/**
 * An OCI distribution (Docker registry v2) client of our own: manifests by tag or digest,
 * streamed blobs, existence checks, cross-repository mounts and monolithic uploads. Talks to
 * the registry over ./http.ts and authenticates through ./auth.ts; every failure is a
 * CountersignError naming the registry, repository and operation.
 */
import type { Readable } from 'node:stream';
import { CountersignError, fail } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Authenticator } from './auth.js';
import { digestOf, digestStream, parseDigest } from './digest.js';
import {
  asNetworkError,
  describe,
  HttpTransport,
  readBody,
  type HttpRequest,
  type HttpResponse,
  type RequestContext,
} from './http.js';
import {
  isRecord,
  MANIFEST_ACCEPT,
  parseManifest,
  type Descriptor,
  type Manifest,
} from './manifest.js';
import { isRepositoryName } from './names.js';
import { parseJson } from '../canonical/parse.js';

// Promotion lives in its own module; re-exported so the client's surface reads as one API.
export { copyImage, type CopyOptions, type CopyReport } from './copy.js';

export interface RegistryClientOptions {
  /** `http://host:port` or `https://host:port` (a path prefix is kept). */
  url: string;
  /** PEM of the CA that issued the registry's certificate (added to Node's roots). */
  ca?: string | Buffer;
  username?: string;
  password?: string;
  /** Inactivity timeout for each request (connect, headers, stalled body); default 30 s. */
  timeoutMs?: number;
  /** Extra attempts after a connection failure or a 5xx answer; default 2. */
  retries?: number;
  clock?: Clock;
}

export interface ResolvedManifest {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ManifestBytes {
  bytes: Buffer;
  /** Computed from the bytes (with the algorithm of the requested digest, else sha256). */
  digest: string;
  mediaType: string;
  /** What the registry claimed in Docker-Content-Digest, when it sent one. */
  headerDigest?: string;
}

export interface FetchedManifest extends ManifestBytes {
  parsed: Manifest;
}

export interface BlobVerification {
  ok: boolean;
  /** What was found: the digest and size read, or why the blob could not be read. */
  detail: string;
  /** The digest and size of the bytes read (absent when the blob is missing). */
  actual?: { digest: string; size: number };
}

/** Distribution's own cap on manifest bodies; larger answers are refused, not buffered. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const CONFIG_LIMIT = 8 * 1024 * 1024;
const ERROR_BODY_LIMIT = 64 * 1024;

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export class RegistryClient {
  /** The registry's base URL, without a trailing slash. */
  readonly url: string;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly transport: HttpTransport;
  private readonly auth: Authenticator;

  constructor(options: RegistryClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      fail('CONFIG_INVALID', `registry url ${JSON.stringify(options.url)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      fail('CONFIG_INVALID', `registry url ${options.url} must be http:// or https://`);
    }
    base.search = '';
    base.hash = '';
    this.base = base;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.url = `${base.origin}${this.basePath}`;
    this.transport = new HttpTransport({
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 2,
    });
    const credentials =
      options.username === undefined
        ? {}
        : { username: options.username, password: options.password ?? '' };
    this.auth = new Authenticator(credentials, this.transport, options.clock ?? systemClock);
  }

  /** True when both clients address one registry, so blobs can be mounted across repositories. */
  sameRegistry(other: RegistryClient): boolean {
    return this.url === other.url;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.close();
  }

  /** What the registry says a tag points at (HEAD, falling back to GET when it sends no digest). */
  async resolveTag(repo: string, tag: string): Promise<ResolvedManifest> {
    checkRepository(repo);
    checkReference(tag);
    const ctx = this.ctx(repo, `resolve tag ${tag}`);
    const res = await this.request(ctx, pull(repo), {
      method: 'HEAD',
      url: this.endpoint(repo, 'manifests', tag),
      headers: { accept: MANIFEST_ACCEPT },
    });
    res.body.resume();
    await this.expect(res, [200], ctx);
    const digest = header(res, 'docker-content-digest');
    const mediaType = header(res, 'content-type')?.split(';')[0]?.trim();
    const size = Number(header(res, 'content-length'));
    if (digest !== undefined && parseDigest(digest) && mediaType && Number.isSafeInteger(size)) {
      return { digest, mediaType, size };
    }
    const m = await this.getManifestBytes(repo, tag);
    return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
  }

  /** Manifest bytes by tag or digest, with the digest computed from the bytes received. */
  async getManifestBytes(repo: string, ref: string): Promise<ManifestBytes> {
    checkRepository(repo);
    checkReference(ref);
    const ctx = this.ctx(repo, `GET manifest ${ref}`);
    const res = await this.request(ctx, pull(repo), {
      method: 'GET',
      url: this.endpoint(repo, 'manifests', ref),
      headers: { accept: MANIFEST_ACCEPT },
    });
    await this.expect(res, [200], ctx);
    const bytes = await readBody(res, MANIFEST_LIMIT, ctx);
    const mediaType = header(res, 'content-type')?.split(';')[0]?.trim() ?? '';
    const headerDigest = header(res, 'docker-content-digest');
    return {
      bytes,
      digest: digestOf(bytes, parseDigest(ref) ? ref : undefined),
      mediaType,
      ...(headerDigest === undefined ? {} : { headerDigest }),
    };
  }

  /** Manifest by tag or digest, parsed (REGISTRY_MANIFEST_INVALID when it is not one). */
  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const m = await this.getManifestBytes(repo, ref);
    const parsed = parseManifest(m.bytes, m.mediaType);
    return { ...m, mediaType: parsed.mediaType, parsed };
  }

  async hasManifest(repo: string, ref: string): Promise<boolean> {
    checkRepository(repo);
    checkReference(ref);
    const ctx = this.ctx(repo, `HEAD manifest ${ref}`);
    const res = await this.request(ctx, pull(repo), {
      method: 'HEAD',
      url: this.endpoint(repo, 'manifests', ref),
      headers: { accept: MANIFEST_ACCEPT },
    });
    res.body.resume();
    if (res.status === 404) return false;
    await this.expect(res, [200], ctx);
    return true;
  }

  /** Stores a manifest under a tag or its digest; returns the digest the registry assigned. */
  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepository(repo);
    checkReference(ref);
    const ctx = this.ctx(repo, `PUT manifest ${ref}`);
    const res = await this.request(ctx, push(repo), {
      method: 'PUT',
      url: this.endpoint(repo, 'manifests', ref),
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    res.body.resume();
    await this.expect(res, [201, 200], ctx);
    return header(res, 'docker-content-digest') ?? digestOf(bytes);
  }

  /** The blob's bytes as a stream (following a redirect to blob storage). */
  async blobStream(repo: string, digest: string): Promise<Readable> {
    checkRepository(repo);
    checkDigest(digest);
    const ctx = this.ctx(repo, `GET blob ${digest}`);
    const res = await this.request(ctx, pull(repo), {
      method: 'GET',
      url: this.endpoint(repo, 'blobs', digest),
    });
    await this.expect(res, [200], ctx);
    return res.body;
  }

  /** Whether the repository holds the blob, and the size the registry reports. */
  async hasBlob(repo: string, digest: string): Promise<{ exists: boolean; size?: number }> {
    checkRepository(repo);
    checkDigest(digest);
    const ctx = this.ctx(repo, `HEAD blob ${digest}`);
    const res = await this.request(ctx, pull(repo), {
      method: 'HEAD',
      url: this.endpoint(repo, 'blobs', digest),
    });
    res.body.resume();
    if (res.status === 404) return { exists: false };
    await this.expect(res, [200], ctx);
    const size = Number(header(res, 'content-length'));
    return Number.isSafeInteger(size) ? { exists: true, size } : { exists: true };
  }

  /**
   * Streams the blob through a hash and a byte count, and compares both with the descriptor.
   * A missing blob or wrong bytes are a verdict (`ok: false`); an unreachable registry throws.
   */
  async verifyBlob(
    repo: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>
  ): Promise<BlobVerification> {
    const parsed = parseDigest(descriptor.digest);
    if (!parsed)
      return { ok: false, detail: `${JSON.stringify(descriptor.digest)} is not a valid digest` };
    const ctx = this.ctx(repo, `GET blob ${descriptor.digest}`);
    let stream: Readable;
    try {
      stream = await this.blobStream(repo, descriptor.digest);
    } catch (err) {
      if (err instanceof CountersignError && err.code === 'REGISTRY_NOT_FOUND') {
        return {
          ok: false,
          detail: `${descriptor.digest} is missing from the registry (${err.message})`,
        };
      }
      throw err;
    }
    let read;
    try {
      read = await digestStream(stream, parsed.algorithm, descriptor.size);
    } catch (err) {
      throw asNetworkError(err, ctx);
    }
    const actual = { digest: read.digest, size: read.size };
    if (read.truncated) {
      return {
        ok: false,
        detail: `${descriptor.digest}: more than the expected ${descriptor.size} bytes`,
        actual,
      };
    }
    if (read.size !== descriptor.size || read.digest !== descriptor.digest) {
      return {
        ok: false,
        detail: `${descriptor.digest}: read ${read.size} bytes hashing to ${read.digest}, expected ${descriptor.size} bytes hashing to ${descriptor.digest}`,
        actual,
      };
    }
    return { ok: true, detail: `${descriptor.digest} (${read.size} bytes)`, actual };
  }

  /** The image configuration JSON a manifest's config descriptor names, checked against it. */
  async imageConfig(
    repo: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>
  ): Promise<Record<string, unknown>> {
    const ctx = this.ctx(repo, `GET config ${descriptor.digest}`);
    if (descriptor.size > CONFIG_LIMIT) {
      fail(
        'REGISTRY_MANIFEST_INVALID',
        `${describe(ctx)}: config of ${descriptor.size} bytes exceeds ${CONFIG_LIMIT}`
      );
    }
    const stream = await this.blobStream(repo, descriptor.digest);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        size += (chunk as Buffer).length;
        if (size > descriptor.size) {
          stream.destroy();
          break;
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      throw asNetworkError(err, ctx);
    }
    const bytes = Buffer.concat(chunks);
    const digest = digestOf(bytes, descriptor.digest);
    if (size !== descriptor.size || digest !== descriptor.digest) {
      fail(
        'META_HASH_MISMATCH',
        `${describe(ctx)}: the config bytes do not match the descriptor (${digest}, ${size} bytes)`
      );
    }
    let json: unknown;
    try {
      json = parseJson(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
    if (!isRecord(json))
      fail('REGISTRY_MANIFEST_INVALID', `${describe(ctx)}: the image config is not a JSON object`);
    return json;
  }

  /**
   * Asks the registry to link a blob of repository `from` into `to` without copying bytes.
   * Returns false when the registry declined (it then opened an upload, which is cancelled).
   */
  async mountBlob(from: string, to: string, digest: string): Promise<boolean> {
    checkRepository(from);
    checkRepository(to);
    checkDigest(digest);
    const ctx = this.ctx(to, `mount blob ${digest} from ${from}`);
    const url = this.endpoint(to, 'blobs', 'uploads/');
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', from);
    const res = await this.request(ctx, [...push(to), ...pull(from)], {
      method: 'POST',
      url,
      retry: false,
    });
    res.body.resume();
    if (res.status === 201) return true;
    await this.expect(res, [202], ctx);
    await this.cancelUpload(res, to, ctx);
    return false;
  }

  /**
   * Uploads a blob in one streamed PUT (POST for a session, then PUT with `?digest=`); the
   * registry recomputes the digest and refuses bytes that do not match. `open` is called again
   * for each attempt, so a retry re-reads the source.
   */
  async uploadBlob(
    repo: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    open: () => Promise<Readable>
  ): Promise<void> {
    checkRepository(repo);
    checkDigest(descriptor.digest);
    const ctx = this.ctx(repo, `upload blob ${descriptor.digest}`);
    const start = await this.request(ctx, push(repo), {
      method: 'POST',
      url: this.endpoint(repo, 'blobs', 'uploads/'),
      retry: false,
    });
    start.body.resume();
    await this.expect(start, [202], ctx);
    const location = header(start, 'location');
    if (!location)
      fail('NETWORK', `${describe(ctx)}: the registry opened an upload without a Location`);
    const url = new URL(location, start.url);
    url.searchParams.set('digest', descriptor.digest);
    const source = await open();
    const res = await this.request(ctx, push(repo), {
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream' },
      body: { length: descriptor.size, open: () => source },
      retry: false,
    });
    res.body.resume();
    await this.expect(res, [201], ctx);
  }

  private async cancelUpload(res: HttpResponse, repo: string, ctx: RequestContext): Promise<void> {
    const location = header(res, 'location');
    if (!location) return;
    try {
      const del = await this.request(ctx, push(repo), {
        method: 'DELETE',
        url: new URL(location, res.url),
      });
      del.body.resume();
    } catch {
      // An abandoned upload session expires on the registry by itself.
    }
  }

  /** Sends with the known credentials; answers one 401 challenge and sends again. */
  private async request(
    ctx: RequestContext,
    scopes: string[],
    req: HttpRequest
  ): Promise<HttpResponse> {
    // Credentials go to the registry only, never to an upload Location on another origin.
    const sent = req.url.origin === this.base.origin ? this.auth.authorization(scopes) : undefined;
    const headers = { ...req.headers, ...(sent === undefined ? {} : { authorization: sent }) };
    const res = await this.transport.send({ ...req, headers }, ctx);
    if (res.status !== 401) return res;
    res.body.resume();
    const challenge = header(res, 'www-authenticate');
    // A cached token may have expired on the registry's clock: fetch a fresh one before giving up.
    const refused = sent?.startsWith('Bearer ') ? undefined : sent;
    const authorization = await this.auth.respond(challenge, scopes, refused, ctx);
    if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
      // A streamed body is spent; the caller starts the upload over with the new credentials.
      throw new CountersignError(
        'REGISTRY_AUTH',
        `${describe(ctx)}: the registry asked for credentials again mid-upload`,
        {
          context: { ...ctx, status: 401 },
        }
      );
    }
    const retried = await this.transport.send(
      { ...req, headers: { ...req.headers, authorization } },
      ctx
    );
    if (retried.status === 401) {
      retried.body.resume();
      await this.auth.respond(header(retried, 'www-authenticate'), scopes, authorization, ctx);
    }
    return retried;
  }

  /** Turns an unexpected status into the error it means (body parsed for the registry's code). */
  private async expect(res: HttpResponse, ok: number[], ctx: RequestContext): Promise<void> {
    if (ok.includes(res.status)) return;
    let reason = '';
    try {
      const body = await readBody(res, ERROR_BODY_LIMIT, ctx);
      reason = registryReason(body);
    } catch {
      // The status alone still says what happened.
    }
    const context = { ...ctx, status: res.status };
    const tries = res.attempts > 1 ? ` after ${res.attempts} attempts` : '';
    const message = `${describe(ctx)}: HTTP ${res.status}${reason ? ` ${reason}` : ''}${tries}`;
    if (res.status === 404) throw new CountersignError('REGISTRY_NOT_FOUND', message, { context });
    if (res.status === 401 || res.status === 403)
      throw new CountersignError('REGISTRY_AUTH', message, { context });
    throw new CountersignError('NETWORK', message, { context });
  }

  private endpoint(repo: string, kind: 'manifests' | 'blobs', ref: string): URL {
    const url = new URL(this.base.href);
    url.pathname = `${this.basePath}/v2/${repo}/${kind}/${ref}`;
    return url;
  }

  private ctx(repository: string, operation: string): RequestContext {
    return { registry: this.url, repository, operation };
  }
}

function pull(repo: string): string[] {
  return [`repository:${repo}:pull`];
}

function push(repo: string): string[] {
  return [`repository:${repo}:pull,push`];
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `MANIFEST_UNKNOWN: manifest unknown` from distribution's `{"errors":[{code,message}]}`. */
function registryReason(body: Buffer): string {
  try {
    const json = parseJson(body.toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = json.errors?.[0];
    if (first && typeof first.code === 'string') {
      return `${first.code}${typeof first.message === 'string' ? `: ${first.message}` : ''}`;
    }
  } catch {
    // not the registry's envelope
  }
  return body.toString('utf8').slice(0, 200).trim();
}

function checkRepository(repo: string): void {
  if (!isRepositoryName(repo)) {
    fail('INVALID_NAME', `${JSON.stringify(repo)} is not a valid registry repository name`);
  }
}

function checkReference(ref: string): void {
  if (!TAG.test(ref) && !parseDigest(ref))
    fail('INVALID_NAME', `${JSON.stringify(ref)} is not a valid tag or digest`);
}

function checkDigest(digest: string): void {
  if (!parseDigest(digest)) fail('INVALID_NAME', `${JSON.stringify(digest)} is not a valid digest`);
}
