/**
 * A stored root's check remembered per (GUN, sha256) for its certificates' validity window
 * (src/notary/stored-root.ts). Every date is fixed here: the window is compared with the
 * caller's clock, never with today's.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ValidatedRoots } from '../../../src/notary/stored-root.js';
import { KeyVerifiers } from '../../../src/crypto/keys.js';
import { parseRoot, type Root, type SignedFile } from '../../../src/tuf/metadata.js';
import { formatExpires } from '../../../src/tuf/time.js';
import { plainKey, rootSigned, sign, x509Key } from '../../helpers/tuf-builder.js';

const DAY = 86_400_000;
const GUN = 'example.com/stored-root';
const FROM = Date.parse('2031-03-01T00:00:00Z');
const UNTIL = FROM + 100 * DAY;
const at = (ms: number) => new Date(ms);

describe('notary/stored-root', () => {
  let root: SignedFile<Root>;
  let sha256: string;
  /** The same root with its signature broken: a fresh check refuses it. */
  let broken: SignedFile<Root>;

  before(async () => {
    const rootKey = await x509Key(GUN, { notBefore: at(FROM), notAfter: at(UNTIL) });
    const signed = rootSigned({
      root: [rootKey],
      targets: [plainKey()],
      snapshot: [plainKey()],
      timestamp: [plainKey()],
      expires: formatExpires(at(UNTIL + 365 * DAY)),
    });
    const bytes = sign(signed, [rootKey]);
    root = parseRoot(bytes);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    const envelope = JSON.parse(bytes.toString('utf8')) as { signatures: { sig: string }[] };
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[5] = sig[5]! ^ 0x01;
    envelope.signatures[0]!.sig = sig.toString('base64');
    broken = parseRoot(Buffer.from(JSON.stringify(envelope)));
  });

  it('checks a root and remembers the pass for its GUN and sha256', () => {
    const roots = new ValidatedRoots();
    const verifiers = new KeyVerifiers();
    assert.throws(() => roots.check(broken, GUN, 'other sha', at(FROM + DAY), verifiers));
    roots.check(root, GUN, sha256, at(FROM + DAY), verifiers);
    assert.equal(roots.size, 1);
    assert.ok(verifiers.size > 0, 'the signature was checked through the shared keys');
    // Remembered: the entry answers for these bytes (a broken copy under the same sha256 shows
    // that nothing is verified again), for this GUN only.
    roots.check(broken, GUN, sha256, at(FROM + 50 * DAY));
    assert.throws(() => roots.check(broken, 'example.com/other', sha256, at(FROM + 50 * DAY)));
  });

  it('checks again outside the certificates’ window, as a fresh check would', () => {
    const roots = new ValidatedRoots();
    roots.check(root, GUN, sha256, at(FROM + DAY));
    // Before notBefore (notary allows one day of skew) and after notAfter the certificate is not
    // valid: the check runs again and fails.
    assert.throws(() => roots.check(root, GUN, sha256, at(FROM - 2 * DAY)));
    assert.throws(() => roots.check(root, GUN, sha256, at(UNTIL + DAY)));
    // Inside the window again: still remembered.
    roots.check(broken, GUN, sha256, at(UNTIL - DAY));
  });

  it('holds at most its bound', () => {
    const roots = new ValidatedRoots(2);
    for (let i = 0; i < 5; i++) roots.check(root, GUN, `sha256 number ${i}`, at(FROM + DAY));
    assert.equal(roots.size, 2);
  });
});
