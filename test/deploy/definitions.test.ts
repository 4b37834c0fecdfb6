/**
 * The deployment files, checked by the tools that read them, in seconds (the full image build
 * and run is test/deploy/image.test.ts, behind COUNTERSIGN_IMAGE_TEST=1):
 * - deploy/Containerfile: its structure (stages on one BASE, a non-root USER, /data, 4443, the
 *   health check, the entrypoint) and every file it copies from the context exists and is not
 *   excluded by .dockerignore;
 * - deploy/healthcheck.mjs against a running Countersign: 0 when it answers 200, 1 otherwise;
 * - deploy/countersign.service through `systemd-analyze verify` and `security --offline`;
 * - deploy/compose.yaml through `docker-compose config` (Debian's docker-compose), and the
 *   config file it mounts through Countersign's own config loader.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { Cleanup } from '../helpers/cleanup.js';
import { startCountersign, type StartedCountersign } from '../helpers/countersign.js';
import { repoRoot } from '../helpers/paths.js';
import { freePort, run, runChecked } from '../helpers/proc.js';
import {
  execForm,
  IMAGE_ENTRYPOINT,
  readInstructions,
  stages,
  type Instruction,
} from './containerfile.js';

const deployDir = join(repoRoot, 'deploy');
const CONTAINERFILE = join(deployDir, 'Containerfile');

const find = (ins: readonly Instruction[], keyword: string): Instruction[] =>
  ins.filter((i) => i.keyword === keyword);

describe('deploy/Containerfile', () => {
  const all = readInstructions(CONTAINERFILE);
  const [build, runtime, ...more] = stages(all);

  it('has a build stage and a runtime stage, both on the overridable BASE', () => {
    assert.equal(more.length, 0);
    assert.ok(build && runtime);
    const firstFrom = all.findIndex((i) => i.keyword === 'FROM');
    const baseArg = all.slice(0, firstFrom).find((i) => /^BASE=/.test(i.text));
    assert.ok(baseArg, 'ARG BASE=… must come before the first FROM');
    assert.match(baseArg.text, /^BASE=node:\d+-bookworm-slim$/);
    assert.equal(build.from, '${BASE}');
    assert.equal(runtime.from, '${BASE}');
    assert.ok(build.name);
  });

  it('runs as a fixed non-root user, with /data as a volume and 4443 exposed', () => {
    const users = find(runtime!.instructions, 'USER');
    assert.equal(users.length, 1);
    const [uid, gid] = users[0]!.text.split(':').map(Number);
    assert.ok(uid! > 0 && gid! > 0, `USER ${users[0]!.text} is root`);
    const creates = find(runtime!.instructions, 'RUN').some((r) =>
      r.text.includes(`useradd --uid ${uid} --gid ${gid}`)
    );
    assert.ok(creates, `no RUN creates the account ${uid}:${gid}`);
    assert.deepEqual(
      find(runtime!.instructions, 'VOLUME').map((i) => i.text),
      ['/data']
    );
    assert.deepEqual(
      find(runtime!.instructions, 'EXPOSE').map((i) => i.text),
      ['4443']
    );
  });

  it('serves on 0.0.0.0:4443 from /data and checks health on /healthz', () => {
    const [entrypoint] = find(runtime!.instructions, 'ENTRYPOINT');
    assert.deepEqual(execForm(entrypoint!.text), IMAGE_ENTRYPOINT);
    const [health] = find(runtime!.instructions, 'HEALTHCHECK');
    const command = execForm(health!.text);
    assert.equal(command[0], 'node');
    const script = command[1]!.replace('/opt/countersign/', '');
    assert.ok(existsSync(join(repoRoot, script)), `${script} does not exist`);
    assert.match(
      readFileSync(join(repoRoot, script), 'utf8'),
      /'https:\/\/127\.0\.0\.1:4443\/healthz'/
    );
    const copiesScript = find(runtime!.instructions, 'COPY').some((c) => c.text.includes(script));
    assert.ok(copiesScript, `${script} is not copied into the image`);
  });

  it('copies only files that exist in the context and that .dockerignore lets through', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const must of ['.git', 'node_modules', 'dist', 'data']) assert.ok(ignored.includes(must));
    const fromContext = find(all, 'COPY').filter((c) => !c.text.startsWith('--from='));
    assert.ok(fromContext.length > 0);
    for (const copy of fromContext) {
      const sources = copy.text.split(/\s+/).slice(0, -1);
      for (const src of sources) {
        assert.ok(existsSync(join(repoRoot, src)), `line ${copy.line}: ${src} does not exist`);
        const top = src.split('/')[0]!;
        assert.ok(!ignored.includes(top), `line ${copy.line}: ${src} is excluded by .dockerignore`);
      }
    }
  });
});

describe('deploy/healthcheck.mjs', () => {
  const cleanup = new Cleanup();
  let server: StartedCountersign;
  before(async () => {
    server = cleanup.add(await startCountersign());
  });
  after(() => cleanup.run());

  const probe = (url: string) =>
    run(process.execPath, [join(deployDir, 'healthcheck.mjs')], {
      env: { PATH: process.env.PATH, COUNTERSIGN_HEALTHCHECK_URL: url },
      timeoutMs: 15_000,
    });

  it('exits 0 when the server answers 200 over its self-signed TLS', async () => {
    const r = await probe(`${server.sut.url}/_notary_server/health`);
    assert.equal(r.code, 0, r.stderr);
  });

  it('exits 1 on another status, and when nothing listens', async () => {
    const notFound = await probe(`${server.sut.url}/no-such-health-path`);
    assert.equal(notFound.code, 1);
    assert.match(notFound.stderr, /answered 404/);
    const closed = await probe(`https://127.0.0.1:${await freePort()}/healthz`);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /ECONNREFUSED/);
  });
});

describe('deploy/countersign.service', () => {
  const cleanup = new Cleanup();
  let root: string;
  const unitPath = '/etc/systemd/system/countersign.service';
  before(() => {
    // A root holding the unit, systemd's own units and a stand-in for the installed command,
    // so verify checks everything about the unit except the real program behind ExecStart.
    root = cleanup.tempDir('countersign-systemd-');
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    cpSync('/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/countersign'), '#!/bin/sh\n', { mode: 0o755 });
    cpSync(join(deployDir, 'countersign.service'), join(root, unitPath));
  });
  after(() => cleanup.run());

  it('passes systemd-analyze verify without a word', async () => {
    const r = await run('systemd-analyze', ['verify', `--root=${root}`, unitPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr + r.stdout, '');
  });

  it('verify does complain about a broken copy (the check can fail)', async () => {
    const broken = readFileSync(join(deployDir, 'countersign.service'), 'utf8')
      .replace('NoNewPrivileges=yes', 'NoNewPrivileges=perhaps')
      .replace('ProtectSystem=strict', 'ProtectSytem=strict');
    writeFileSync(join(root, 'etc/systemd/system/broken.service'), broken);
    const r = await run('systemd-analyze', [
      'verify',
      `--root=${root}`,
      '/etc/systemd/system/broken.service',
    ]);
    assert.match(r.stderr, /Failed to parse boolean value.*perhaps/);
    assert.match(r.stderr, /Unknown key 'ProtectSytem'/);
  });

  it('is rated OK by systemd-analyze security, with the required settings', async () => {
    const r = await runChecked('systemd-analyze', [
      'security',
      '--offline=yes',
      `--root=${root}`,
      '--no-pager',
      unitPath,
    ]);
    const m = /Overall exposure level for countersign\.service: (\d+\.\d+) (\w+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}`);
    for (const line of [
      /^✓ NoNewPrivileges=/m,
      /^✓ ProtectSystem=/m,
      /^✓ PrivateTmp=/m,
      /^✓ User=\/DynamicUser=/m,
    ]) {
      assert.match(r.stdout, line);
    }
    const unit = readFileSync(join(deployDir, 'countersign.service'), 'utf8');
    assert.match(unit, /^ReadWritePaths=\/var\/lib\/countersign$/m);
    assert.match(unit, /^EnvironmentFile=\/etc\/countersign\/countersign\.env$/m);
    assert.match(unit, /^ExecStart=countersign serve .*--data-dir \/var\/lib\/countersign/m);
  });
});

describe('deploy/compose.yaml', () => {
  const cleanup = new Cleanup();
  let envFile: string;
  before(() => {
    envFile = join(cleanup.tempDir('countersign-compose-'), '.env');
    writeFileSync(envFile, 'POSTGRES_PASSWORD=db-secret\nCOUNTERSIGN_KEY_PASSPHRASE=key-secret\n');
  });
  after(() => cleanup.run());

  const composeConfig = (args: string[]) =>
    run('docker-compose', [...args, '-f', join(deployDir, 'compose.yaml'), 'config'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });

  it('is valid for docker-compose: Countersign on PostgreSQL, secrets from the env file', async () => {
    const r = await composeConfig(['--env-file', envFile]);
    assert.equal(r.code, 0, r.stderr);
    // docker-compose prints YAML; its own PyYAML turns it into JSON.
    const json = await runChecked(
      'python3',
      ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
      { input: r.stdout }
    );
    const { services } = JSON.parse(json.stdout);
    assert.match(services.db.image, /^postgres:/);
    assert.equal(services.db.environment.POSTGRES_PASSWORD, 'db-secret');
    const cs = services.countersign;
    assert.equal(cs.build.dockerfile, 'deploy/Containerfile');
    assert.equal(cs.depends_on.db.condition, 'service_healthy');
    assert.equal(cs.environment.COUNTERSIGN_KEY_PASSPHRASE, 'key-secret');
    assert.equal(cs.environment.PGPASSWORD, 'db-secret');
    assert.deepEqual(cs.command, ['--config', '/etc/countersign/countersign.json']);
    assert.ok(
      cs.volumes.some((v: string) =>
        v.endsWith('deploy/countersign.compose.json:/etc/countersign/countersign.json:ro')
      ),
      JSON.stringify(cs.volumes)
    );
  });

  it('refuses to start without the key passphrase', async () => {
    const partial = join(cleanup.tempDir('countersign-compose-'), '.env');
    writeFileSync(partial, 'POSTGRES_PASSWORD=db-secret\n');
    const r = await composeConfig(['--env-file', partial]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /set COUNTERSIGN_KEY_PASSPHRASE in deploy\/\.env/);
  });

  it('mounts a config that Countersign reads as PostgreSQL, with no password in it', () => {
    const config = loadConfig(
      { config: join(deployDir, 'countersign.compose.json'), dataDir: '/data' },
      { COUNTERSIGN_KEY_PASSPHRASE: 'key-secret' }
    );
    assert.equal(config.storage.backend, 'postgres');
    assert.ok(config.storage.backend === 'postgres');
    const url = new URL(config.storage.url);
    assert.equal(url.hostname, 'db');
    assert.equal(url.password, '');
  });
});
