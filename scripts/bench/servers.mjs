// The four HTTP servers the benchmark compares, each started pinned to the server core:
// Countersign (the product), notary-server 0.7 (the yardstick), a bare node:http server and an
// Express 5 route that both answer the very bytes Countersign serves from memory (the ceilings).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, pinned, removeTempDir, Service } from './procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');

/**
 * The node flags of bin/countersign.js's `#!/usr/bin/env -S node …` line: the server is measured
 * as `npm start`, the systemd unit and the container image start it, while `taskset` still gets
 * node itself to pin.
 */
export function binNodeFlags() {
  const first = readFileSync(join(repoRoot, 'bin/countersign.js'), 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env (?:-S )?node((?: --?[\w-]+(?:=\S+)?)*)$/.exec(first);
  if (!m) throw new Error(`bin/countersign.js: unexpected first line ${first}`);
  return m[1].split(' ').filter(Boolean);
}

/**
 * `countersign serve --plain-http --listen 127.0.0.1:0`. `logLevel` undefined = the default
 * (info: one log line per request). `dataDir` reuses a database (a restart); otherwise fresh.
 * `config`: the contents of a config file (`--config`), e.g. PostgreSQL storage; `env`: added
 * to the environment.
 */
export async function startCountersign({
  cpus,
  logLevel,
  dataDir,
  extraArgs = [],
  name = 'countersign',
  cpuProfDir,
  config,
  env,
}) {
  const base = makeTempDir('bench-countersign-');
  const dir = dataDir ?? join(base, 'data');
  // One directory per instance: node names the files by time and pid only.
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfDir, name)}`] : [];
  const args = [
    ...binNodeFlags(),
    ...nodeArgs,
    join(repoRoot, 'bin/countersign.js'),
    'serve',
    '--plain-http',
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    dir,
  ];
  if (logLevel) args.push('--log-level', logLevel);
  if (config) {
    const configFile = join(base, 'config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    args.push('--config', configFile);
  }
  args.push(...extraArgs);
  const [cmd, argv] = pinned(cpus, process.execPath, args);
  const service = Service.start(name, cmd, argv, {
    cwd: base,
    env: env ? { ...process.env, ...env } : undefined,
    logFile: join(base, 'server.log'),
  });
  try {
    const m = await service.waitForOutput(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const url = `http://127.0.0.1:${m[1]}`;
    await service.waitForUrl(`${url}/_notary_server/health`);
    return {
      name,
      url,
      service,
      dataDir: dir,
      async stop() {
        await service.stop();
        // A data dir passed in lives outside `base`: it belongs to the caller, who restarts on it.
        removeTempDir(base);
      },
    };
  } catch (e) {
    await service.stop();
    removeTempDir(base);
    throw e;
  }
}

/**
 * notary-server 0.7: local signer, plain HTTP, like for like; memory backend unless `storage`
 * (its config file's `storage` section) says otherwise.
 */
export async function startNotaryServer({
  cpus,
  logLevel = 'warn',
  name = 'notary-server',
  storage = { backend: 'memory' },
}) {
  const dir = makeTempDir('bench-notary-server-');
  // notary-server cannot listen on port 0 and tell us the port: probe one, retry if taken.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const configFile = join(dir, `config-${port}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        server: { http_addr: `127.0.0.1:${port}` },
        trust_service: { type: 'local', key_algorithm: 'ecdsa' },
        storage,
        logging: { level: logLevel },
      })
    );
    const [cmd, argv] = pinned(cpus, 'notary-server', ['-config', configFile]);
    const service = Service.start(name, cmd, argv, {
      cwd: dir,
      logFile: join(dir, `server-${port}.log`),
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await service.waitForUrl(`${url}/_notary_server/health`);
    } catch (e) {
      await service.stop();
      if (attempt < 3 && /address already in use/.test(service.output())) continue;
      removeTempDir(dir);
      throw e;
    }
    return {
      name,
      url,
      service,
      async stop() {
        await service.stop();
        removeTempDir(dir);
      },
    };
  }
}

/**
 * A ceiling server (`bare` = node:http, `express` = an Express 5 route) answering each path of
 * `responses` ({ path → { headers, body } }) with exactly those bytes.
 */
export async function startCeiling(kind, { cpus, responses }) {
  const dir = makeTempDir(`bench-${kind}-`);
  const manifest = {};
  let i = 0;
  for (const [path, r] of Object.entries(responses)) {
    const file = join(dir, `body-${i++}`);
    writeFileSync(file, r.body);
    manifest[path] = { headers: r.headers, file };
  }
  const manifestFile = join(dir, 'manifest.json');
  writeFileSync(manifestFile, JSON.stringify(manifest));
  const script = join(here, kind === 'bare' ? 'bare-server.mjs' : 'express-server.mjs');
  const [cmd, argv] = pinned(cpus, process.execPath, [script, manifestFile]);
  const service = Service.start(kind, cmd, argv, { cwd: dir, logFile: join(dir, 'server.log') });
  try {
    const m = await service.waitForOutput(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    return {
      name: kind,
      url: `http://127.0.0.1:${m[1]}`,
      service,
      async stop() {
        await service.stop();
        removeTempDir(dir);
      },
    };
  } catch (e) {
    await service.stop();
    removeTempDir(dir);
    throw e;
  }
}
