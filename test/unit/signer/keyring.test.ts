import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCountersignError, type ErrorCode } from '../../../src/errors.js';
import {
  CHECK_SETTING,
  DEFAULT_KEY_FILE,
  KDF_SETTING,
  Keyring,
  SCRYPT_PARAMS,
} from '../../../src/signer/keyring.js';
import { openSqlite } from '../../../src/storage/sqlite.js';
import type { Storage } from '../../../src/storage/types.js';
import { ManualClock } from '../../../src/util/clock.js';

const root = mkdtempSync(join(tmpdir(), 'countersign-keyring-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const clock = new ManualClock('2026-01-01T00:00:00Z');

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isCountersignError(err, code), `expected ${code}, got ${String(err)}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function throwsWith(f: () => unknown, code: ErrorCode, what?: string): void {
  assert.throws(f, (err) => isCountersignError(err, code), what);
}

describe('Keyring', () => {
  let dir: string;
  let dataDir: string;
  let storage: Storage;
  beforeEach(() => {
    dir = join(root, `case-${n++}`);
    dataDir = join(dir, 'data');
    mkdirSync(dir);
    storage = openSqlite(join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    await storage.close();
  });

  describe('#seal and #open', () => {
    let keyring: Keyring;
    beforeEach(async () => {
      ({ keyring } = await Keyring.open({ storage, passphrase: 'correct horse', clock }));
    });
    const secret = randomBytes(32);

    it('round-trips private key bytes in a versioned envelope', () => {
      const sealed = keyring.seal('abc123', secret);
      assert.equal(sealed[0], 0x01);
      assert.equal(sealed.length, 1 + 12 + secret.length + 16);
      assert.equal(sealed.indexOf(secret), -1);
      assert.deepEqual(keyring.open('abc123', sealed), secret);
      // A fresh nonce each time.
      assert.notDeepEqual(keyring.seal('abc123', secret), sealed);
      assert.deepEqual(keyring.open('e', keyring.seal('e', new Uint8Array(0))), Buffer.alloc(0));
    });

    it('detects tampering with any part of the envelope', () => {
      const sealed = keyring.seal('abc123', secret);
      for (const [part, index] of [
        ['version', 0],
        ['nonce', 5],
        ['ciphertext', 1 + 12 + 3],
        ['tag', sealed.length - 1],
      ] as const) {
        const bad = Buffer.from(sealed);
        bad[index] = bad[index]! ^ 0x01;
        throwsWith(() => keyring.open('abc123', bad), 'SIGNER_DECRYPT', `a changed ${part} byte`);
      }
      throwsWith(
        () => keyring.open('abc123', sealed.subarray(0, sealed.length - 1)),
        'SIGNER_DECRYPT'
      );
      throwsWith(() => keyring.open('abc123', sealed.subarray(0, 20)), 'SIGNER_DECRYPT');
      throwsWith(() => keyring.open('abc123', Buffer.alloc(0)), 'SIGNER_DECRYPT');
    });

    it('binds the envelope to its key ID', () => {
      const sealed = keyring.seal('key-a', secret);
      throwsWith(() => keyring.open('key-b', sealed), 'SIGNER_DECRYPT');
      throwsWith(() => keyring.open('key-a ', sealed), 'SIGNER_DECRYPT');
      assert.deepEqual(keyring.open('key-a', sealed), secret);
    });

    it('wipes the opened bytes after withOpened', () => {
      let seen: Buffer | undefined;
      const first = keyring.withOpened('k', keyring.seal('k', secret), (bytes) => {
        seen = bytes;
        return bytes[0];
      });
      assert.equal(first, secret[0]);
      assert.deepEqual(seen, Buffer.alloc(32));
    });
  });

  describe('with a passphrase', () => {
    it('stores the scrypt salt and parameters in the database, not the data dir', async () => {
      const { keyring, warning } = await Keyring.open({
        storage,
        passphrase: 'pw',
        dataDir,
        clock,
      });
      assert.equal(warning, undefined);
      const kdf = JSON.parse((await storage.settings.get(KDF_SETTING))!);
      assert.equal(kdf.alg, 'scrypt');
      assert.ok(kdf.N >= 2 ** 15);
      assert.equal(kdf.N, SCRYPT_PARAMS.N);
      assert.equal(Buffer.from(kdf.salt, 'base64').length, 16);
      assert.ok(await storage.settings.get(CHECK_SETTING));
      assert.ok(!existsSync(dataDir) || readdirSync(dataDir).length === 0);

      // Another start on the same database derives the same key.
      const again = await Keyring.open({ storage, passphrase: 'pw', clock });
      assert.deepEqual(
        again.keyring.open('k', keyring.seal('k', Buffer.from('x'))),
        Buffer.from('x')
      );
    });

    it('rejects a wrong passphrase at open, with SIGNER_DECRYPT', async () => {
      await Keyring.open({ storage, passphrase: 'right', clock });
      await rejectsWith(
        Keyring.open({ storage, passphrase: 'wrong', clock }),
        'SIGNER_DECRYPT',
        /wrong passphrase/
      );
    });

    it('derives a different key for another database (its own salt)', async () => {
      const other = openSqlite(join(dir, 'other.sqlite'));
      try {
        const a = (await Keyring.open({ storage, passphrase: 'same', clock })).keyring;
        const b = (await Keyring.open({ storage: other, passphrase: 'same', clock })).keyring;
        throwsWith(() => b.open('k', a.seal('k', Buffer.from('x'))), 'SIGNER_DECRYPT');
      } finally {
        await other.close();
      }
    });

    it('agrees on one salt when several instances start at once', async () => {
      const path = join(dir, 'shared.sqlite');
      const instances = [openSqlite(path), openSqlite(path), openSqlite(path)];
      try {
        const rings = await Promise.all(
          instances.map((s) => Keyring.open({ storage: s, passphrase: 'pw', clock }))
        );
        const sealed = rings[0]!.keyring.seal('k', Buffer.from('shared'));
        for (const r of rings) assert.deepEqual(r.keyring.open('k', sealed), Buffer.from('shared'));
      } finally {
        await Promise.all(instances.map((s) => s.close()));
      }
    });

    it('refuses stored scrypt parameters below the minimum', async () => {
      await storage.settings.put(
        KDF_SETTING,
        JSON.stringify({
          alg: 'scrypt',
          N: 1024,
          r: 8,
          p: 1,
          salt: randomBytes(16).toString('base64'),
        })
      );
      await rejectsWith(Keyring.open({ storage, passphrase: 'pw', clock }), 'CONFIG_INVALID');
    });

    it('counts an empty passphrase as unset', async () => {
      const { warning } = await Keyring.open({ storage, passphrase: '', dataDir, clock });
      assert.ok(warning);
      assert.ok(existsSync(join(dataDir, DEFAULT_KEY_FILE)));
      assert.equal(await storage.settings.get(KDF_SETTING), null);
      // The database is now sealed with the key file, and says so to a passphrase.
      await rejectsWith(
        Keyring.open({ storage, passphrase: 'pw', clock }),
        'SIGNER_DECRYPT',
        /sealed with a key file/
      );
    });
  });

  describe('with a key file', () => {
    it('creates the data dir key file with mode 0600 and a warning, then reuses it', async () => {
      const first = await Keyring.open({ storage, dataDir, clock });
      const path = join(dataDir, DEFAULT_KEY_FILE);
      assert.match(first.warning ?? '', new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const bytes = readFileSync(path);
      assert.equal(bytes.length, 32);
      assert.deepEqual(readdirSync(dataDir), [DEFAULT_KEY_FILE]);

      const second = await Keyring.open({ storage, dataDir, clock });
      assert.equal(second.warning, undefined);
      assert.deepEqual(readFileSync(path), bytes);
      assert.deepEqual(
        second.keyring.open('k', first.keyring.seal('k', Buffer.from('y'))),
        Buffer.from('y')
      );
      await rejectsWith(Keyring.open({ storage, passphrase: 'pw', clock }), 'SIGNER_DECRYPT');
    });

    it('creates an explicit key file that is missing', async () => {
      const keyFile = join(dir, 'conf', 'server.key');
      const { warning } = await Keyring.open({ storage, keyFile, clock });
      assert.ok(warning);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    });

    it('refuses a key file that group or others can read', async () => {
      const keyFile = join(dir, 'k.key');
      for (const mode of [0o640, 0o604, 0o620]) {
        rmSync(keyFile, { force: true });
        writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
        chmodSync(keyFile, mode);
        await rejectsWith(Keyring.open({ storage, keyFile, clock }), 'CONFIG_INVALID', /chmod 600/);
      }
      chmodSync(keyFile, 0o600);
      await Keyring.open({ storage, keyFile, clock });
    });

    it('accepts 64 hex digits and refuses any other size', async () => {
      const keyFile = join(dir, 'hex.key');
      writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      await Keyring.open({ storage, keyFile, clock });
      writeFileSync(join(dir, 'short.key'), randomBytes(16), { mode: 0o600 });
      await rejectsWith(
        Keyring.open({ storage, keyFile: join(dir, 'short.key'), clock }),
        'CONFIG_INVALID'
      );
    });

    it('rejects another key file at open', async () => {
      await Keyring.open({ storage, dataDir, clock });
      const other = join(dir, 'other.key');
      writeFileSync(other, randomBytes(32), { mode: 0o600 });
      await rejectsWith(
        Keyring.open({ storage, keyFile: other, clock }),
        'SIGNER_DECRYPT',
        /wrong key file/
      );
    });

    it('does not replace a lost key file of a database that has keys', async () => {
      await Keyring.open({ storage, dataDir, clock });
      const path = join(dataDir, DEFAULT_KEY_FILE);
      unlinkSync(path);
      await rejectsWith(
        Keyring.open({ storage, dataDir, clock }),
        'SIGNER_DECRYPT',
        /does not exist/
      );
      assert.ok(!existsSync(path));
    });
  });

  describe('configuration', () => {
    it('refuses a passphrase and a key file together', async () => {
      await rejectsWith(
        Keyring.open({ storage, passphrase: 'pw', keyFile: join(dir, 'k'), clock }),
        'CONFIG_INVALID'
      );
    });

    it('refuses to protect keys with nothing', async () => {
      await rejectsWith(Keyring.open({ storage, clock }), 'CONFIG_INVALID');
    });

    it('requires a passphrase or key file with PostgreSQL', async () => {
      const postgres = { kind: 'postgres' as const, settings: storage.settings };
      await rejectsWith(
        Keyring.open({ storage: postgres, dataDir, clock }),
        'CONFIG_INVALID',
        /PostgreSQL/
      );
      assert.ok(!existsSync(join(dataDir, DEFAULT_KEY_FILE)));
      await Keyring.open({ storage: postgres, passphrase: 'pw', clock });
    });

    it('requires a passphrase or key file when asked to', async () => {
      await rejectsWith(
        Keyring.open({ storage, dataDir, requireSecret: true, clock }),
        'CONFIG_INVALID'
      );
      assert.ok(!existsSync(join(dataDir, DEFAULT_KEY_FILE)));
      const keyFile = join(dir, 'given.key');
      writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
      await Keyring.open({ storage, keyFile, requireSecret: true, clock });
    });
  });
});
