/**
 * `countersign config check` as a process: the effective configuration of a file with the
 * environment applied, secrets masked; exit 1 with the error for an invalid one.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from '../helpers/cleanup.js';
import { run } from '../helpers/proc.js';
import { repoRoot } from '../helpers/paths.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

function configCheck(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [join(repoRoot, 'bin/countersign.js'), 'config', 'check', ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    timeoutMs: 60_000,
  });
}

describe('countersign config check', () => {
  it('prints the effective configuration with the environment applied and secrets masked', async () => {
    const dir = cleanup.tempDir('countersign-config-check-');
    const file = join(dir, 'server.json');
    writeFileSync(
      file,
      JSON.stringify({
        server: { http_addr: '127.0.0.1:4999', unknown_here: true },
        storage: { backend: 'postgres', db_url: 'postgres://notary:file-db-secret@db:5432/notary' },
        countersign: {
          keys: { passphrase: 'file-passphrase' },
          store: {
            zones: [{ staging: 'staging.store.test/', public: 'store.test/' }],
            registries: {
              staging: {
                url: 'http://127.0.0.1:5000',
                username: 'ci',
                password: 'registry-secret',
              },
            },
          },
        },
      })
    );
    const r = await configCheck(dir, ['-config', file], {
      NOTARY_SERVER_STORAGE_DB_URL: 'postgres://notary:env-db-secret@db2:5432/notary',
      COUNTERSIGN__STORE__APPROVALS: '2',
    });
    assert.equal(r.code, 0, r.stderr);
    for (const secret of ['file-db-secret', 'env-db-secret', 'file-passphrase', 'registry-secret'])
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), secret);
    const out = JSON.parse(r.stdout) as {
      valid: boolean;
      file: string;
      environment: string[];
      warnings: string[];
      resolved: { listen: string; storage: { backend: string; url: string } };
      config: {
        countersign: { store: { approvals: number; autoPublish: boolean } };
        storage: { db_url: string };
      };
    };
    assert.equal(out.valid, true);
    assert.equal(out.file, file);
    assert.deepEqual(out.environment, [
      'COUNTERSIGN__STORE__APPROVALS',
      'NOTARY_SERVER_STORAGE_DB_URL',
    ]);
    assert.equal(out.config.countersign.store.approvals, 2);
    assert.equal(out.config.countersign.store.autoPublish, true);
    assert.equal(out.config.storage.db_url, 'postgres://notary:********@db2:5432/notary');
    assert.deepEqual(out.resolved.storage, {
      backend: 'postgres',
      url: 'postgres://notary:********@db2:5432/notary',
    });
    assert.equal(out.resolved.listen, '127.0.0.1:4999');
    assert.equal(out.warnings.length, 1);
    assert.match(r.stderr, /warning: .*server\.unknown_here/);
    // Checking writes nothing.
    assert.ok(!existsSync(join(dir, 'data')));
  });

  it('exits 1 with the error for an invalid file', async () => {
    const dir = cleanup.tempDir('countersign-config-check-');
    const file = join(dir, 'server.json');
    writeFileSync(file, JSON.stringify({ countersign: { store: { approvals: '2' } } }));
    const r = await configCheck(dir, ['--config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /countersign\.store\.approvals must be an integer from 1 to 100 \(got the string "2"\)/
    );
    const stray = await configCheck(dir, [file]);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /config check takes no arguments/);
  });
});
