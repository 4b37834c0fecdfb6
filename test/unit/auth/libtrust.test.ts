import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ECDH, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { base32Encode, libtrustKeyId, spkiDer } from '../../../src/auth/libtrust.js';
import { fixturePath } from '../../helpers/paths.js';

interface Vector {
  name: string;
  spkiPem: string;
  kid: string;
}
const vectors = JSON.parse(
  readFileSync(fixturePath('auth/libtrust-kids.json'), 'utf8')
) as Vector[];

describe('libtrust key IDs', () => {
  it('base32-encodes like RFC 4648 (without padding)', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [text, b32] of cases) assert.equal(base32Encode(Buffer.from(text)), b32);
  });

  for (const v of vectors) {
    it(`matches the Go-computed ID for ${v.name}`, () => {
      assert.equal(libtrustKeyId(createPublicKey(v.spkiPem)), v.kid);
    });
  }

  it('has 12 groups of 4 base32 characters', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const id = libtrustKeyId(publicKey);
    assert.match(id, /^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$/);
    assert.equal(libtrustKeyId(privateKey), id, 'a private key has the ID of its public key');
  });

  it('hashes the uncompressed point even when the key arrives compressed', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const point = der.subarray(der.length - 65);
    const compressed = ECDH.convertKey(
      point,
      'prime256v1',
      undefined,
      undefined,
      'compressed'
    ) as Buffer;
    // SPKI header for P-256 with a 33-byte BIT STRING.
    const head = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
    const compressedKey = createPublicKey({
      key: Buffer.concat([head, compressed]),
      format: 'der',
      type: 'spki',
    });
    assert.equal(spkiDer(compressedKey).length, 91);
    assert.equal(libtrustKeyId(compressedKey), libtrustKeyId(publicKey));
  });
});
