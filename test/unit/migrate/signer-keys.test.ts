/**
 * Opening notary-signer's JWE-sealed keys (src/migrate/signer-keys.ts), on keys made here in
 * notary-signer's format: DER SEC 1 P-256 keys and 64-byte Ed25519 keys, sealed with
 * PBES2-HS256+A128KW / A256GCM. The real notary-signer's rows are opened in
 * test/migrate/import-*.test.ts; these cover the refusals.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { isCountersignError, type ErrorCode } from '../../../src/errors.js';
import {
  openSignerKey,
  passphraseFor,
  type NotarySignerKeyRow,
} from '../../../src/migrate/signer-keys.js';

const PASSPHRASE = 'alias one passphrase';

async function seal(
  plaintext: Uint8Array,
  passphrase = PASSPHRASE,
  alg = 'PBES2-HS256+A128KW'
): Promise<string> {
  return new CompactEncrypt(plaintext)
    .setProtectedHeader({ alg, enc: 'A256GCM' })
    .encrypt(new TextEncoder().encode(passphrase));
}

const keyId = (keytype: string, publicKey: Buffer): string =>
  createHash('sha256')
    .update(
      `{"keytype":"${keytype}","keyval":{"private":null,"public":"${publicKey.toString('base64')}"}}`
    )
    .digest('hex');

function ecdsaKey(): { privateDer: Buffer; publicDer: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateDer: privateKey.export({ format: 'der', type: 'sec1' }),
    publicDer: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

function row(
  over: Partial<NotarySignerKeyRow> & Pick<NotarySignerKeyRow, 'publicKey' | 'sealed'>
): NotarySignerKeyRow {
  return {
    keyId: keyId(over.algorithm ?? 'ecdsa', over.publicKey),
    gun: 'example.com/acme/web',
    role: 'timestamp',
    algorithm: 'ecdsa',
    passphraseAlias: 'alias1',
    createdAt: new Date(0),
    lastUsed: null,
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isCountersignError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });
}

describe('notary-signer keys', () => {
  it('opens an ECDSA key and keeps its key ID and public key', async () => {
    const k = ecdsaKey();
    const r = row({ publicKey: k.publicDer, sealed: await seal(k.privateDer) });
    const opened = await openSignerKey(r, PASSPHRASE);
    assert.equal(opened.algorithm, 'ecdsa');
    assert.equal(opened.keyType, 'ecdsa');
    assert.equal(opened.publicB64, k.publicDer.toString('base64'));
    assert.equal(opened.secret.length, 32);
  });

  it('opens an Ed25519 key (seed ‖ public key, 64 bytes)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const r = row({
      algorithm: 'ed25519',
      publicKey: pub,
      sealed: await seal(Buffer.concat([seed, pub])),
    });
    const opened = await openSignerKey(r, PASSPHRASE);
    assert.equal(opened.keyType, 'ed25519');
    assert.deepEqual(Buffer.from(opened.secret), seed);
  });

  it('names the variable of a wrong passphrase', async () => {
    const k = ecdsaKey();
    const r = row({
      publicKey: k.publicDer,
      sealed: await seal(k.privateDer),
      passphraseAlias: 'old_alias',
    });
    await rejectsWith(
      openSignerKey(r, 'another passphrase'),
      'SIGNER_DECRYPT',
      /NOTARY_SIGNER_OLD_ALIAS: wrong passphrase/
    );
  });

  it('refuses another key wrap than notary-signer uses', async () => {
    const k = ecdsaKey();
    const r = row({
      publicKey: k.publicDer,
      sealed: await seal(k.privateDer, PASSPHRASE, 'PBES2-HS512+A256KW'),
    });
    await rejectsWith(
      openSignerKey(r, PASSPHRASE),
      'KEY_INVALID',
      /not a JWE this import can open/
    );
  });

  it('refuses a private key that does not belong to the row', async () => {
    const a = ecdsaKey();
    const b = ecdsaKey();
    const r = row({ publicKey: a.publicDer, sealed: await seal(b.privateDer) });
    await rejectsWith(
      openSignerKey(r, PASSPHRASE),
      'KEY_ID_MISMATCH',
      /does not belong to the row's public key/
    );
  });

  it('refuses RSA, absurdly large rows and garbage', async () => {
    const k = ecdsaKey();
    const sealed = await seal(k.privateDer);
    await rejectsWith(
      openSignerKey(row({ publicKey: k.publicDer, sealed, algorithm: 'rsa' }), PASSPHRASE),
      'KEY_UNSUPPORTED',
      /"rsa"/
    );
    await rejectsWith(
      openSignerKey(row({ publicKey: k.publicDer, sealed: 'a'.repeat(20_000) }), PASSPHRASE),
      'KEY_INVALID',
      /too large/
    );
    await rejectsWith(
      openSignerKey(row({ publicKey: k.publicDer, sealed: 'not.a.jwe' }), PASSPHRASE),
      'KEY_INVALID',
      /not a JWE/
    );
    const notDer = await seal(Buffer.from('not a key'));
    await rejectsWith(
      openSignerKey(row({ publicKey: k.publicDer, sealed: notDer }), PASSPHRASE),
      'KEY_INVALID',
      /not a DER EC private key/
    );
  });

  it('reads passphrases from NOTARY_SIGNER_<ALIAS>, alias upper-cased, and names a missing one', () => {
    assert.equal(passphraseFor('alias1', { NOTARY_SIGNER_ALIAS1: 'x' }), 'x');
    assert.throws(
      () => passphraseFor('alias1', { NOTARY_SIGNER_ALIAS1: '' }),
      (err) =>
        isCountersignError(err, 'CONFIG_INVALID') &&
        /NOTARY_SIGNER_ALIAS1/.test((err as Error).message)
    );
  });
});
