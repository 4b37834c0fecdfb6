/** What the client helpers need to know about the notary-compatible server they talk to. */
export interface ServerUnderTest {
  /** `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  /** PEM CA that issued the server's TLS certificate (absent for plain HTTP). */
  caFile?: string;
  /** `127.0.0.1:PORT`: the directory name docker looks up under `$DOCKER_CONFIG/tls/`. */
  hostPort: string;
}

/** A running server the interop tests can target: the reference notary-server or ours. */
export interface StartedServer {
  readonly sut: ServerUnderTest;
  stop(): Promise<void>;
}

/** Builds the descriptor from a base URL (the port defaults from the scheme). */
export function serverUnderTest(url: string, caFile?: string): ServerUnderTest {
  const u = new URL(url);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`not http(s): ${url}`);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  return caFile === undefined
    ? { url: base, hostPort: `${u.hostname}:${port}` }
    : { url: base, caFile, hostPort: `${u.hostname}:${port}` };
}
