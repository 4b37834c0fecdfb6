/**
 * Starts Countersign itself (`bin/countersign.js serve`) as a child process, the way operators
 * run it: a temporary data dir, `--listen 127.0.0.1:0`, the self-signed TLS it generates (or
 * plain HTTP), an optional config file. Returns the interop harness's server descriptor.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from './cleanup.js';
import { repoRoot } from './paths.js';
import { run, Service, type RunResult } from './proc.js';
import { serverUnderTest, type StartedServer } from './server-under-test.js';

export interface CountersignOptions {
  /** Plain HTTP instead of the generated TLS (the notary CLI accepts http://, docker does not). */
  readonly tls?: boolean;
  /** Written to DATA/../config.json and passed with --config. */
  readonly config?: Record<string, unknown>;
  /** Reuse a data dir (to restart on the same database); otherwise a fresh temporary one. */
  readonly dataDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly extraArgs?: readonly string[];
}

export interface StartedCountersign extends StartedServer {
  readonly service: Service;
  readonly dataDir: string;
  readonly configFile?: string;
}

export async function startCountersign(opts: CountersignOptions = {}): Promise<StartedCountersign> {
  const own = opts.dataDir === undefined;
  const base = makeTempDir('countersign-server-');
  const dataDir = opts.dataDir ?? join(base, 'data');
  const args = [
    join(repoRoot, 'bin/countersign.js'),
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    // Quiet unless the caller asks for a level itself (a flag given twice is refused).
    ...(opts.extraArgs?.includes('--log-level') ? [] : ['--log-level', 'warn']),
  ];
  let configFile: string | undefined;
  if (opts.config) {
    configFile = join(base, 'config.json');
    writeFileSync(configFile, JSON.stringify(opts.config, null, 2));
    args.push('--config', configFile);
  }
  if (opts.tls === false) args.push('--plain-http');
  args.push(...(opts.extraArgs ?? []));
  const service = Service.start(process.execPath, args, { env: { ...process.env, ...opts.env } });
  const m = await service.waitForOutput(/listening on (https?):\/\/127\.0\.0\.1:(\d+)/, 20_000);
  const url = `${m[1]}://127.0.0.1:${m[2]}`;
  const caFile = m[1] === 'https' ? join(dataDir, 'tls', 'ca.crt') : undefined;
  const sut = serverUnderTest(url, caFile);
  await service.waitForUrl(`${url}/_notary_server/health`, { caFile });
  return {
    sut,
    service,
    dataDir,
    configFile,
    async stop() {
      await service.stop();
      if (own) await removeTempDir(base);
    },
  };
}

/** Runs the `countersign` command itself, with only PATH and `env` in its environment. */
export function countersignCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  input?: string
): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    ...(input !== undefined ? { input } : {}),
    timeoutMs: 60_000,
  });
}

export interface TestAccount {
  readonly role: string;
  readonly password: string;
  readonly namespace?: string;
}

/**
 * Creates the accounts with `countersign user add` in a data dir (and the storage of CONFIGFILE
 * when given), as an operator does; fails the test if one is refused.
 */
export async function addAccounts(
  dataDir: string,
  accounts: Readonly<Record<string, TestAccount>>,
  configFile?: string
): Promise<void> {
  for (const [name, u] of Object.entries(accounts)) {
    const args = [
      'user',
      'add',
      name,
      '--role',
      u.role,
      ...(u.namespace ? ['--namespace', u.namespace] : []),
      '--password-stdin',
      '--data-dir',
      dataDir,
      ...(configFile !== undefined ? ['--config', configFile] : []),
    ];
    const r = await countersignCli(args, {}, `${u.password}\n`);
    if (r.code !== 0) throw new Error(`countersign user add ${name} failed: ${r.stderr}`);
  }
}

/** An HTTPS request to a server under test, trusting `caFile`, with Basic credentials when given. */
export function httpsCall(
  url: string,
  caFile: string,
  o: { method?: string; basic?: { user: string; password: string }; body?: Buffer } = {}
): Promise<{ status: number; body: Buffer }> {
  const headers: Record<string, string> = {};
  if (o.basic)
    headers.authorization = `Basic ${Buffer.from(`${o.basic.user}:${o.basic.password}`).toString('base64')}`;
  if (o.body) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: o.method ?? 'GET', ca: readFileSync(caFile), headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
