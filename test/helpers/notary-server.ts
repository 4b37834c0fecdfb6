/**
 * The reference notary-server (Debian package `notary`) on a free port of 127.0.0.1: memory
 * storage, the local ed25519 signer, TLS from a throwaway CA unless plain HTTP is asked for.
 * It is the yardstick the interop tests run against before pointing at our own server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { freePort, Service } from './proc.js';
import { serverUnderTest, type ServerUnderTest, type StartedServer } from './server-under-test.js';
import { makeServerTls, type ServerTlsFiles } from './tls.js';

export interface ReferenceServerOptions {
  /** Default true. false = plain HTTP (usable by the notary CLI, never by docker). */
  tls?: boolean;
  /** Reuse existing TLS files instead of making a new CA. */
  tlsFiles?: ServerTlsFiles;
  /** The `auth` section, passed through verbatim (only `type: "token"` does anything). */
  auth?: unknown;
  /** Further top-level config sections (`caching`, `repositories`, …), merged over the defaults. */
  extraConfig?: Record<string, unknown>;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface ReferenceServer extends StartedServer, AsyncDisposable {
  readonly sut: ServerUnderTest;
  readonly service: Service;
  readonly configFile: string;
  readonly tlsFiles: ServerTlsFiles | undefined;
  stop(): Promise<void>;
}

export async function startReferenceNotaryServer(
  opts: ReferenceServerOptions = {}
): Promise<ReferenceServer> {
  const dir = makeTempDir('notary-server-');
  try {
    const tlsFiles = opts.tls === false ? undefined : (opts.tlsFiles ?? (await makeServerTls(dir)));
    // The port is probed, not bound by the server itself (it would not tell us a port 0 choice),
    // so another process can take it in between: retry on "address already in use".
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configFile = join(dir, `server-${port}.json`);
      const config: Record<string, unknown> = {
        server: {
          http_addr: `127.0.0.1:${port}`,
          ...(tlsFiles ? { tls_cert_file: tlsFiles.certFile, tls_key_file: tlsFiles.keyFile } : {}),
        },
        trust_service: { type: 'local', key_algorithm: 'ecdsa' },
        storage: { backend: 'memory' },
        logging: { level: opts.logLevel ?? 'info' },
        ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
        ...opts.extraConfig,
      };
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      const service = Service.start('notary-server', ['-config', configFile], { cwd: dir });
      const scheme = tlsFiles ? 'https' : 'http';
      const url = `${scheme}://127.0.0.1:${port}`;
      try {
        await service.waitForUrl(`${url}/_notary_server/health`, { caFile: tlsFiles?.caFile });
      } catch (e) {
        await service.stop();
        if (attempt < 3 && /address already in use/.test(service.output())) continue;
        throw e;
      }
      const stop = async (): Promise<void> => {
        await service.stop();
        await removeTempDir(dir);
      };
      return {
        sut: serverUnderTest(url, tlsFiles?.caFile),
        service,
        configFile,
        tlsFiles,
        stop,
        [Symbol.asyncDispose]: stop,
      };
    }
  } catch (e) {
    await removeTempDir(dir);
    throw e;
  }
}
