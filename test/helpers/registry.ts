/**
 * A real Docker registry (Debian's docker-registry 2.8) on 127.0.0.1 for tests: filesystem
 * storage in a temporary directory (exposed, so a test can corrupt a blob on disk), deletes
 * enabled, and optionally htpasswd Basic auth, TLS from a test CA, the token flow against a
 * token server started here, or blob reads redirected to a separate storage server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  createHash,
  createPrivateKey,
  randomBytes,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RegistryRequest {
  method: string;
  uri: string;
  status: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
}

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, as skopeo and docker name it. */
  host: string;
  dir: string;
  storageDir: string;
  /** PEM of the CA that issued the registry's certificate (TLS only). */
  caPem?: string;
  /** Where the registry keeps a blob's bytes on disk. */
  blobPath(digest: string): string;
  /** Every request the registry logged as completed, in order. */
  requests(): RegistryRequest[];
  /** Requests the blob storage server received (redirectBlobs only). */
  storageRequests: SeenRequest[];
  /**
   * Freezes the registry process (SIGSTOP): connections are still accepted by the kernel but
   * nothing answers, so work that streams from it stays running until `resume` (SIGCONT).
   */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  basicAuth?: { username: string; password: string };
  tls?: boolean;
  token?: TokenServer;
  /** Serve blob GET/HEAD through distribution's redirect middleware to a storage server here. */
  redirectBlobs?: boolean;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(os.tmpdir(), 'countersign-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines: string[] = [];
  const storageRequests: SeenRequest[] = [];

  let storage: http.Server | undefined;
  const config: string[] = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: json',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  let caPem: string | undefined;
  if (options.tls) {
    const tls = await makeServerCertificate(dir);
    caPem = tls.caPem;
    config.push('  tls:', `    certificate: ${tls.certPath}`, `    key: ${tls.keyPath}`);
  }
  if (options.basicAuth) {
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(
      htpasswd,
      `${options.basicAuth.username}:${await bcrypt(options.basicAuth.password)}\n`
    );
    config.push('auth:', '  htpasswd:', '    realm: countersign-test', `    path: ${htpasswd}`);
  } else if (options.token) {
    config.push(
      'auth:',
      '  token:',
      `    realm: ${options.token.realm}`,
      `    service: ${options.token.service}`,
      `    issuer: ${options.token.issuer}`,
      `    rootcertbundle: ${options.token.certPath}`
    );
  }
  if (options.redirectBlobs) {
    storage = await serveStorage(storageDir, storageRequests);
    const address = storage.address() as net.AddressInfo;
    config.push(
      'middleware:',
      '  storage:',
      '    - name: redirect',
      '      options:',
      `        baseurl: http://127.0.0.1:${address.port}/`
    );
  }
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, config.join('\n') + '\n');

  const child = spawn('docker-registry', ['serve', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `${options.tls ? 'https' : 'http'}://${host}`;
  const stop = async (): Promise<void> => {
    // A paused registry handles SIGTERM only once resumed.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    await stopChild(child, exited);
    if (storage) await new Promise<void>((resolve) => storage.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForRegistry(url, caPem, child, lines);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    host,
    dir,
    storageDir,
    ...(caPem === undefined ? {} : { caPem }),
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    requests: () => parseRequests(lines),
    storageRequests,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop,
  };
}

function parseRequests(lines: string[]): RegistryRequest[] {
  const out: RegistryRequest[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.msg !== 'response completed') continue;
      out.push({
        method: String(e['http.request.method']),
        uri: String(e['http.request.uri']),
        status: Number(e['http.response.status']),
      });
    } catch {
      // a log line that is not JSON
    }
  }
  return out;
}

async function waitForRegistry(
  url: string,
  caPem: string | undefined,
  child: ChildProcess,
  lines: string[]
): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`docker-registry exited with ${child.exitCode}:\n${lines.join('\n')}`);
    }
    const status = await probe(`${url}/v2/`, caPem).catch(() => 0);
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline)
      throw new Error(`docker-registry did not answer on ${url}:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function probe(url: string, caPem: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, caPem ? { ca: caPem } : {}, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(1000, () => req.destroy(new Error('timeout')));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** A port free right now on 127.0.0.1 (the registry binds it itself a moment later). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * docker-registry's htpasswd accepts bcrypt only; glibc's crypt (libxcrypt) makes bcrypt
 * hashes and perl (in every Debian) calls it.
 */
async function bcrypt(password: string): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(22);
  // The 22nd salt character carries 2 bits; these four encode them with zero padding.
  const salt =
    [...bytes.subarray(0, 21)].map((b) => alphabet[b % 64]).join('') + '.Oeu'[bytes[21]! % 4];
  const { stdout } = await run('perl', [
    '-e',
    'print crypt($ARGV[0], $ARGV[1])',
    password,
    `$2b$05$${salt}`,
  ]);
  if (!stdout.startsWith('$2b$05$'))
    throw new Error(`perl crypt did not produce a bcrypt hash: ${stdout}`);
  return stdout;
}

/** A test CA and a server certificate for IP 127.0.0.1, made with openssl. */
async function makeServerCertificate(
  dir: string
): Promise<{ caPem: string; certPath: string; keyPath: string }> {
  const p = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=countersign test CA',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    p('server.key'),
    '-out',
    p('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(
    p('server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n'
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.pem'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  return {
    caPem: await readFile(p('ca.pem'), 'utf8'),
    certPath: p('server.pem'),
    keyPath: p('server.key'),
  };
}

/** Serves the registry's storage directory the way blob storage serves redirected reads. */
async function serveStorage(root: string, seen: SeenRequest[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(auth === undefined ? {} : { authorization: auth }),
    });
    const path = normalize(
      join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    );
    if (!path.startsWith(root) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export interface TokenServer {
  /** The realm the registry names in its Bearer challenge. */
  realm: string;
  service: string;
  issuer: string;
  /** The certificate the registry trusts for token signatures (rootcertbundle). */
  certPath: string;
  /** Every token request: the scopes asked for and whether credentials were sent. */
  requests: { scopes: string[]; user?: string; granted: boolean }[];
  stop(): Promise<void>;
}

/**
 * A Docker token service: `GET /token?service=&scope=…` with Basic credentials answers a JWT
 * (ES256, the signing certificate in `x5c`, which registry 2.8 checks against rootcertbundle)
 * granting the requested actions. Wrong or missing credentials get 401.
 */
export async function startTokenServer(users: Record<string, string>): Promise<TokenServer> {
  const dir = await mkdtemp(join(os.tmpdir(), 'countersign-token-'));
  const certPath = join(dir, 'token.pem');
  const keyPath = join(dir, 'token.key');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '2',
    '-subj',
    '/CN=countersign test token issuer',
  ]);
  const key = createPrivateKey(await readFile(keyPath));
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  const service = 'countersign-test-registry';
  const issuer = 'countersign-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const user = basicUser(req.headers.authorization, users);
    requests.push({ scopes, ...(user === undefined ? {} : { user }), granted: user !== undefined });
    if (
      url.pathname !== '/token' ||
      url.searchParams.get('service') !== service ||
      user === undefined
    ) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"details":"incorrect username or password"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      return {
        type: s.slice(0, first),
        name: s.slice(first + 1, last),
        actions: s.slice(last + 1).split(','),
      };
    });
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ typ: 'JWT', alg: 'ES256', x5c: [certDer] })}.${b64({
      iss: issuer,
      sub: user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    })}`;
    const signature = sign('sha256', Buffer.from(input), {
      key,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token: `${input}.${signature}`,
        expires_in: 300,
        issued_at: new Date().toISOString(),
      })
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function basicUser(header: string | undefined, users: Record<string, string>): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return user !== undefined && users[user] !== undefined && users[user] === rest.join(':')
    ? user
    : undefined;
}

/** sha256 digest string of bytes, for assertions. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
