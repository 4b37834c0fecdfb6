/**
 * Field names Go reads case-insensitively (issue 20): a correctly signed file whose keys collide
 * under Go's folding, or spell a field in another case, is refused by the one parser the upload
 * path and the store's verification share; map keys (tags, roles, key IDs, hashes) and `custom`,
 * which Go reads exactly or not at all, are not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goFold, checkFieldNames } from '../../../src/tuf/field-names.js';
import { parseRoot, parseTargets, type JsonObject } from '../../../src/tuf/metadata.js';
import { checkKeyIds } from '../../../src/tuf/root.js';
import { checkTargetsStructure } from '../../../src/tuf/delegations.js';
import { isCountersignError } from '../../../src/errors.js';
import { plainKey, rootSigned, sign, targetsSigned, x509Key } from '../../helpers/tuf-builder.js';

const key = plainKey();
const refused = (e: unknown) => isCountersignError(e, 'META_SHAPE');
const targets = (edit: (s: JsonObject) => void) => {
  const s = targetsSigned({ targets: [{ name: 'v1', bytes: Buffer.from('x') }] });
  edit(s);
  return sign(s, [key]);
};

describe('field names as Go reads them', () => {
  it('folds as Go does: ASCII case, the long s and the Kelvin sign', () => {
    assert.equal(goFold('VERSION'), 'version');
    assert.equal(goFold('\u017figned'), 'signed');
    assert.equal(goFold('\u212aeyid'), 'keyid');
    assert.throws(() => checkFieldNames({ signed: 1, '\u017fIGNED': 2 }, ['signed'], 'x'), refused);
  });

  it('folds ASCII names (the fast path) exactly as the code-point rule does', () => {
    // Go's foldName per code point: upper case, then lower case, each kept only if one code point.
    const slowFold = (name: string) =>
      [...name]
        .map((ch) => {
          const upper = [...ch.toUpperCase()].length === 1 ? ch.toUpperCase() : ch;
          const lower = upper.toLowerCase();
          return [...lower].length === 1 ? lower : ch;
        })
        .join('');
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: 'binary' })),
        (s) => assert.equal(goFold(s), slowFold(s))
      ),
      { numRuns: 500, seed: 20261207 }
    );
  });

  it('refuses case variants of signed fields next to the real ones, and alone', () => {
    for (const variant of ['Version', 'VERSION', 'Expires', '_Type', 'Targets', 'Delegations']) {
      const bytes = targets((s) => {
        s[variant] = variant === 'Version' || variant === 'VERSION' ? 99 : s[variant.toLowerCase()];
      });
      assert.throws(() => parseTargets(bytes), refused, variant);
    }
    const alone = targets((s) => {
      s.Consistent_Snapshot = true;
    });
    assert.doesNotThrow(
      () => parseTargets(alone),
      'an unknown field of targets is not a collision'
    );
  });

  it('refuses "Signed": null and "SIGNATURES" in the envelope', () => {
    const good = JSON.parse(targets(() => {}).toString('utf8')) as JsonObject;
    for (const extra of [{ Signed: null }, { SIGNATURES: [] }]) {
      const bytes = Buffer.from(JSON.stringify({ ...good, ...extra }));
      assert.throws(() => parseTargets(bytes), refused, JSON.stringify(extra));
    }
  });

  it('refuses variants inside signatures, keys, roles, delegations and file meta', () => {
    const s = targetsSigned({
      targets: [{ name: 'v1', bytes: Buffer.from('x') }],
      delegations: {
        keys: [key],
        roles: [{ name: 'targets/releases', keyids: [key.publicKey.id], paths: [''] }],
      },
    });
    const edits: ((s: JsonObject) => void)[] = [
      (x) => ((x.targets as Record<string, JsonObject>).v1!.Length = 5),
      (x) => (((x.delegations as JsonObject).roles as JsonObject[])[0]!.Threshold = 0),
      (x) => ((x.delegations as JsonObject).Keys = {}),
      (x) => {
        const k = ((x.delegations as JsonObject).keys as Record<string, JsonObject>)[
          key.publicKey.id
        ]!;
        k.KeyType = 'rsa';
      },
    ];
    for (const edit of edits) {
      const copy = structuredClone(s);
      edit(copy);
      assert.throws(() => parseTargets(sign(copy, [key])), refused, edit.toString());
    }
    const signed = JSON.parse(sign(s, [key]).toString('utf8')) as {
      signed: JsonObject;
      signatures: JsonObject[];
    };
    signed.signatures[0]!.KeyID = 'x';
    assert.throws(() => parseTargets(Buffer.from(JSON.stringify(signed))), refused);
  });

  it('keeps map keys and custom exact: tags v1 and V1, custom with colliding names', () => {
    const s = targetsSigned({
      targets: [
        { name: 'v1', bytes: Buffer.from('a') },
        { name: 'V1', bytes: Buffer.from('b'), custom: { a: 1, A: 2 } },
      ],
    });
    const file = parseTargets(sign(s, [key]));
    assert.deepEqual([...file.signed.targets.keys()].sort(), ['V1', 'v1']);
    assert.deepEqual(file.signed.targets.get('V1')?.custom, { a: 1, A: 2 });
  });
});

describe('key IDs that do not match their key content', () => {
  it('refuses a root listing a key under another ID, accepts the ID notary computes (x509 included)', async () => {
    const rootKey = await x509Key('example.com/kid');
    const spec = {
      root: [rootKey],
      targets: [key],
      snapshot: [plainKey()],
      timestamp: [plainKey()],
    };
    const good = parseRoot(sign(rootSigned(spec), [rootKey]));
    assert.doesNotThrow(() => checkKeyIds(good.signed.keys, 'root'));
    // The certificate key listed under its "canonical" ID (the bare public key's): refused.
    const canonical = rootKey.publicKey.canonicalId();
    assert.notEqual(canonical, rootKey.publicKey.id);
    const bad = parseRoot(
      sign(rootSigned({ ...spec, root: [{ keyid: canonical, key: rootKey.publicKey }] }), [rootKey])
    );
    assert.throws(
      () => checkKeyIds(bad.signed.keys, 'root'),
      (e) => isCountersignError(e, 'KEY_ID_MISMATCH')
    );
  });

  it('refuses delegation keys listed under another ID', () => {
    const other = plainKey();
    const s = targetsSigned({
      delegations: {
        keys: [key],
        roles: [{ name: 'targets/releases', keyids: [other.publicKey.id], paths: [''] }],
      },
    });
    const keys = (s.delegations as JsonObject).keys as Record<string, unknown>;
    keys[other.publicKey.id] = keys[key.publicKey.id];
    delete keys[key.publicKey.id];
    const file = parseTargets(sign(s, [key]));
    assert.throws(
      () => checkTargetsStructure(file.signed, 'targets'),
      (e) => isCountersignError(e, 'KEY_ID_MISMATCH')
    );
  });
});
