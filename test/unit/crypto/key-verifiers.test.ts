/** Imported key material shared between PublicKeys of the same content (src/crypto/keys.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyVerifiers, PublicKey } from '../../../src/crypto/keys.js';
import { generateSigningKey } from '../../../src/crypto/signing.js';

const message = Buffer.from('signed bytes');

/** A fresh PublicKey object of `key`'s content, as a newly parsed file holds. */
const copyOf = (key: PublicKey) => new PublicKey(key.keyType, key.publicB64);

describe('crypto/KeyVerifiers', () => {
  it('imports a key once for every PublicKey of that content, and verifies the same', () => {
    const verifiers = new KeyVerifiers();
    const signing = generateSigningKey('ecdsa');
    const { method, sig } = signing.sign(message);
    for (let i = 0; i < 5; i++)
      assert.equal(copyOf(signing.publicKey).verify(method, message, sig, verifiers), true);
    assert.equal(verifiers.size, 1);
    const tampered = Buffer.from(sig);
    tampered[0] = tampered[0]! ^ 1;
    assert.equal(copyOf(signing.publicKey).verify(method, message, tampered, verifiers), false);
    // Without the cache the key imports its own material, with the same verdicts.
    assert.equal(copyOf(signing.publicKey).verify(method, message, sig), true);
    assert.equal(copyOf(signing.publicKey).verify(method, message, tampered), false);
  });

  it('holds at most its bound however many keys arrive', () => {
    const verifiers = new KeyVerifiers(3);
    for (let i = 0; i < 8; i++) {
      const signing = generateSigningKey(i % 2 === 0 ? 'ecdsa' : 'ed25519');
      const { method, sig } = signing.sign(message);
      assert.equal(copyOf(signing.publicKey).verify(method, message, sig, verifiers), true);
      assert.ok(verifiers.size <= 3, `${verifiers.size} keys held`);
    }
    assert.equal(verifiers.size, 3);
  });

  it('two caches share nothing', () => {
    const a = new KeyVerifiers();
    const b = new KeyVerifiers();
    const signing = generateSigningKey('ed25519');
    const { method, sig } = signing.sign(message);
    assert.equal(copyOf(signing.publicKey).verify(method, message, sig, a), true);
    assert.equal(a.size, 1);
    assert.equal(b.size, 0);
  });
});
