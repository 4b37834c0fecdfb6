/**
 * A Docker Engine API stand-in on a UNIX socket: just enough for the docker CLI's content-trust
 * paths (push, pull by digest, tag, image inspect) to run without dockerd. It holds a table of
 * images, answers with the shapes the CLI parses, and records every call so tests can assert
 * what the CLI asked the engine for (e.g. "pulled exactly sha256:X").
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { parseImageRef, normalizeRepo } from './image-ref.js';

export interface EngineImage {
  /** Manifest digest `sha256:<64 hex>`: what a push reports and what trust signs. */
  digest: string;
  /** Manifest size in bytes, as reported in the push `aux` message. */
  size: number;
  /** Image (config) id `sha256:<hex>`; derived from the digest when omitted. */
  id?: string;
}

export interface EngineCall {
  method: string;
  /** Decoded path without the `/v1.NN` prefix, e.g. `/images/acme/app/push`. */
  path: string;
  /** `1.50` when the path had a version prefix. */
  apiVersion: string | undefined;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface EngineOptions {
  /** API version announced in /_ping and /version (docker CLI 28.2 speaks up to 1.50). */
  apiVersion?: string;
  engineVersion?: string;
}

interface StoredImage {
  id: string;
  digest: string;
  size: number;
  /** Fully qualified `repo:tag` names pointing at this image. */
  tags: Set<string>;
  /** Fully qualified repositories that hold this digest (in the "registry"). */
  repos: Set<string>;
}

type Handler = (ctx: {
  path: string;
  query: Record<string, string>;
  res: ServerResponse;
}) => number;

export class DockerEngineStandIn implements AsyncDisposable {
  readonly calls: EngineCall[] = [];
  private readonly images: StoredImage[] = [];
  private readonly apiVersion: string;
  private readonly engineVersion: string;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly socketPath: string,
    opts: EngineOptions
  ) {
    this.apiVersion = opts.apiVersion ?? '1.50';
    this.engineVersion = opts.engineVersion ?? '28.2.2';
  }

  static async start(opts: EngineOptions = {}): Promise<DockerEngineStandIn> {
    // UNIX socket paths are limited to ~107 bytes, so keep it short and under os.tmpdir().
    const dir = makeTempDir('eng-');
    const socketPath = join(dir, 'docker.sock');
    const server = createServer();
    const engine = new DockerEngineStandIn(server, dir, socketPath, opts);
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => engine.handle(req.method ?? 'GET', req.url ?? '/', req.headers, res));
    });
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolvePromise());
    });
    return engine;
  }

  /** Value for DOCKER_HOST. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** Makes `ref` (`docker.io/acme/app:1.0`, `acme/app:1.0`) exist locally and in the registry. */
  addImage(ref: string, image: EngineImage): void {
    const { repo, tag } = parseImageRef(ref);
    if (!/^sha256:[0-9a-f]{64}$/.test(image.digest)) throw new Error(`bad digest ${image.digest}`);
    let stored = this.images.find((i) => i.digest === image.digest);
    if (!stored) {
      const id = image.id ?? 'sha256:' + createHash('sha256').update(image.digest).digest('hex');
      stored = { id, digest: image.digest, size: image.size, tags: new Set(), repos: new Set() };
      this.images.push(stored);
    }
    for (const other of this.images) other.tags.delete(`${repo}:${tag ?? 'latest'}`);
    stored.tags.add(`${repo}:${tag ?? 'latest'}`);
    stored.repos.add(repo);
  }

  /** The image `ref` resolves to (by tag or digest), as a test would see it in `docker images`. */
  image(ref: string): (EngineImage & { tags: string[] }) | undefined {
    const s = this.find(ref);
    return s && { id: s.id, digest: s.digest, size: s.size, tags: [...s.tags].sort() };
  }

  /** Calls whose method and version-less path match, in order. */
  callsTo(method: string, path: RegExp | string): EngineCall[] {
    return this.calls.filter(
      (c) => c.method === method && (typeof path === 'string' ? c.path === path : path.test(c.path))
    );
  }

  /** `POST /images/{name}/push` calls as {repo, tag}. */
  pushes(): Array<{ repo: string; tag: string | undefined }> {
    return this.callsTo('POST', /^\/images\/.+\/push$/).map((c) => ({
      repo: normalizeRepo(c.path.slice('/images/'.length, -'/push'.length)),
      tag: c.query.tag,
    }));
  }

  /** `POST /images/create` calls as {repo, tag} (`tag` is `sha256:…` for a pull by digest). */
  pulls(): Array<{ repo: string; tag: string | undefined }> {
    return this.callsTo('POST', '/images/create').map((c) => ({
      repo: normalizeRepo(c.query.fromImage ?? ''),
      tag: c.query.tag,
    }));
  }

  /** `POST /images/{source}/tag` calls as {source, repo, tag}. */
  tags(): Array<{ source: string; repo: string; tag: string | undefined }> {
    return this.callsTo('POST', /^\/images\/.+\/tag$/).map((c) => ({
      source: c.path.slice('/images/'.length, -'/tag'.length),
      repo: normalizeRepo(c.query.repo ?? ''),
      tag: c.query.tag,
    }));
  }

  /** The decoded X-Registry-Auth header of a call (what credentials the CLI handed the engine). */
  static registryAuth(call: EngineCall): Record<string, unknown> | undefined {
    const h = call.headers['x-registry-auth'];
    if (typeof h !== 'string' || h === '') return undefined;
    return JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolvePromise) => {
      this.server.close(() => resolvePromise());
      this.server.closeAllConnections();
    });
    await removeTempDir(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private find(ref: string): StoredImage | undefined {
    if (/^sha256:[0-9a-f]{64}$/.test(ref)) return this.images.find((i) => i.id === ref);
    const { repo, tag, digest } = parseImageRef(ref);
    if (digest) return this.images.find((i) => i.digest === digest && i.repos.has(repo));
    return this.images.find((i) => i.tags.has(`${repo}:${tag ?? 'latest'}`));
  }

  private handle(
    method: string,
    rawUrl: string,
    headers: IncomingHttpHeaders,
    res: ServerResponse
  ): void {
    const url = new URL(rawUrl, 'http://engine');
    let path = decodeURIComponent(url.pathname);
    let apiVersion: string | undefined;
    const m = path.match(/^\/v(\d+\.\d+)(\/.*)$/);
    if (m) {
      apiVersion = m[1];
      path = m[2]!;
    }
    const query = Object.fromEntries(url.searchParams);
    let status: number;
    try {
      status = this.route(method, path)({ path, query, res });
    } catch (e) {
      status = sendJson(res, 500, { message: `stand-in error: ${(e as Error).message}` });
    }
    this.calls.push({ method, path, apiVersion, query, headers, status });
  }

  private route(method: string, path: string): Handler {
    if ((method === 'GET' || method === 'HEAD') && path === '/_ping')
      return (c) => this.ping(c.res, method);
    if (method === 'GET' && path === '/version') return (c) => this.version(c.res);
    if (method === 'POST' && path === '/images/create') return (c) => this.create(c.query, c.res);
    if (method === 'POST' && /^\/images\/.+\/push$/.test(path)) {
      return (c) => this.push(path.slice('/images/'.length, -'/push'.length), c.query, c.res);
    }
    if (method === 'POST' && /^\/images\/.+\/tag$/.test(path)) {
      return (c) => this.tag(path.slice('/images/'.length, -'/tag'.length), c.query, c.res);
    }
    if (method === 'GET' && /^\/images\/.+\/json$/.test(path)) {
      return (c) => this.inspect(path.slice('/images/'.length, -'/json'.length), c.res);
    }
    return (c) =>
      sendJson(c.res, 404, { message: `page not found (stand-in has no ${method} ${path})` });
  }

  private pingHeaders(): Record<string, string> {
    return {
      'Api-Version': this.apiVersion,
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      'Builder-Version': '1',
      Swarm: 'inactive',
      Server: `Docker/${this.engineVersion} (linux)`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
    };
  }

  private ping(res: ServerResponse, method: string): number {
    res.writeHead(200, {
      ...this.pingHeaders(),
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': '2',
    });
    res.end(method === 'HEAD' ? undefined : 'OK');
    return 200;
  }

  private version(res: ServerResponse): number {
    const details = {
      ApiVersion: this.apiVersion,
      MinAPIVersion: '1.24',
      Os: 'linux',
      Arch: 'amd64',
    };
    return sendJson(
      res,
      200,
      {
        Platform: { Name: 'Countersign Docker Engine stand-in' },
        Components: [{ Name: 'Engine', Version: this.engineVersion, Details: details }],
        Version: this.engineVersion,
        ApiVersion: this.apiVersion,
        MinAPIVersion: '1.24',
        GitCommit: 'standin',
        GoVersion: 'go1.24.0',
        Os: 'linux',
        Arch: 'amd64',
        KernelVersion: '6.1.0',
        BuildTime: '2025-05-30T00:00:00.000000000+00:00',
      },
      this.pingHeaders()
    );
  }

  /** Streams push progress ending in the `aux` PushResult the CLI signs. */
  private push(name: string, query: Record<string, string>, res: ServerResponse): number {
    const repo = normalizeRepo(name);
    const tags = query.tag
      ? [query.tag]
      : [...new Set(this.images.flatMap((i) => [...i.tags]))]
          .filter((t) => t.startsWith(repo + ':'))
          .map((t) => t.slice(repo.length + 1));
    const found = tags.map((t) => ({ tag: t, image: this.find(`${repo}:${t}`) }));
    const missing = found.find((f) => !f.image);
    if (missing || found.length === 0) {
      return sendJson(res, 404, {
        message: `An image does not exist locally with the tag: ${name}${query.tag ? ':' + query.tag : ''}`,
      });
    }
    const lines: unknown[] = [{ status: `The push refers to repository [${repo}]` }];
    for (const { tag, image } of found) {
      const layer = image!.id.slice('sha256:'.length, 'sha256:'.length + 12);
      image!.repos.add(repo);
      lines.push(
        { status: 'Preparing', progressDetail: {}, id: layer },
        { status: 'Layer already exists', progressDetail: {}, id: layer },
        { status: `${tag}: digest: ${image!.digest} size: ${image!.size}` },
        { progressDetail: {}, aux: { Tag: tag, Digest: image!.digest, Size: image!.size } }
      );
    }
    return sendStream(res, lines);
  }

  /** Pull: by digest when `tag` is `sha256:…` (what DCT does), else by tag. */
  private create(query: Record<string, string>, res: ServerResponse): number {
    const from = query.fromImage ?? '';
    const { repo, tag: inlineTag } = parseImageRef(from);
    const tag = query.tag ?? inlineTag ?? 'latest';
    const byDigest = tag.startsWith('sha256:');
    const ref = byDigest ? `${repo}@${tag}` : `${repo}:${tag}`;
    const image = byDigest
      ? this.images.find((i) => i.digest === tag && i.repos.has(repo))
      : this.find(ref);
    if (!image) {
      return sendJson(res, 404, { message: `manifest for ${ref} not found: manifest unknown` });
    }
    if (!byDigest) image.tags.add(`${repo}:${tag}`);
    const path = repo.split('/').slice(1).join('/');
    return sendStream(res, [
      { status: `Pulling from ${path}`, id: tag },
      { status: `Digest: ${image.digest}` },
      { status: `Status: Image is up to date for ${ref}` },
    ]);
  }

  private tag(source: string, query: Record<string, string>, res: ServerResponse): number {
    const image = this.find(source);
    if (!image) return sendJson(res, 404, { message: `No such image: ${source}` });
    const repo = normalizeRepo(query.repo ?? '');
    const tag = query.tag || 'latest';
    for (const other of this.images) other.tags.delete(`${repo}:${tag}`);
    image.tags.add(`${repo}:${tag}`);
    image.repos.add(repo);
    res.writeHead(201, { 'Content-Length': '0' });
    res.end();
    return 201;
  }

  private inspect(ref: string, res: ServerResponse): number {
    const image = this.find(ref);
    if (!image) return sendJson(res, 404, { message: `No such image: ${ref}` });
    const familiar = (r: string): string => r.replace(/^docker\.io\/(library\/)?/, '');
    return sendJson(res, 200, {
      Id: image.id,
      RepoTags: [...image.tags].map(familiar),
      RepoDigests: [...image.repos].map((r) => `${familiar(r)}@${image.digest}`),
      Parent: '',
      Comment: '',
      Created: '2025-01-01T00:00:00Z',
      DockerVersion: '',
      Author: '',
      Config: { Env: [], Cmd: ['/bin/sh'], Labels: null },
      Architecture: 'amd64',
      Os: 'linux',
      Size: image.size,
      GraphDriver: { Data: null, Name: 'overlay2' },
      RootFS: { Type: 'layers', Layers: [] },
      Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    });
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Record<string, string> = {}
): number {
  const bytes = Buffer.from(JSON.stringify(body) + '\n');
  res.writeHead(status, {
    ...extraHeaders,
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
  });
  res.end(bytes);
  return status;
}

/** The engine's progress format: one JSON object per line, streamed (chunked). */
function sendStream(res: ServerResponse, messages: unknown[]): number {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  for (const m of messages) res.write(JSON.stringify(m) + '\r\n');
  res.end();
  return 200;
}
