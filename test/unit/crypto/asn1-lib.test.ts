/**
 * The ASN.1 layer's loading (src/crypto/asn1-lib.ts): the one-file copy that `npm run build`
 * writes (scripts/vendor-asn1.mjs) is used only when it loads and lists exactly the installed
 * versions; anything else falls back to the packages. A copy built here reads a real notary
 * root certificate exactly as the packages do.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASN1_SOURCES, loadAsn1Layer, type Asn1Sources } from '../../../src/crypto/asn1-lib.js';
import { decodePemBlocks } from '../../../src/crypto/pem.js';
import { Cleanup } from '../../helpers/cleanup.js';
import { fixturePath, repoRoot } from '../../helpers/paths.js';
import { run } from '../../helpers/proc.js';

const cleanup = new Cleanup();
after(() => cleanup.run());

const packages = ASN1_SOURCES.packages();
const installed = {
  '@peculiar/asn1-schema': ASN1_SOURCES.installedVersion('@peculiar/asn1-schema'),
  '@peculiar/asn1-x509': ASN1_SOURCES.installedVersion('@peculiar/asn1-x509'),
};

/** A stand-in copy: the packages' own objects under other identities, with these versions. */
function copyWith(bundledVersions: unknown): Asn1Sources {
  const copy = {
    AsnConvert: { ...packages.schema.AsnConvert },
    Certificate: class extends packages.x509.Certificate {},
    bundledVersions,
  };
  return { ...ASN1_SOURCES, vendored: () => copy };
}

describe('ASN.1 layer loading', () => {
  it('uses the one-file copy when it lists exactly the installed versions', () => {
    const layer = loadAsn1Layer(copyWith(installed));
    assert.equal(layer.vendored, true);
    assert.notEqual(layer.Certificate, packages.x509.Certificate);
  });

  it('falls back to the packages for a missing, damaged or foreign copy', () => {
    const cases: Asn1Sources[] = [
      {
        ...ASN1_SOURCES,
        vendored: () => {
          throw new Error('Cannot find module');
        },
      },
      copyWith(undefined),
      copyWith({}),
      copyWith({ ...installed, '@peculiar/asn1-x509': '0.0.1' }),
      copyWith({ ...installed, 'no-such-package-here': '1.0.0' }),
      { ...ASN1_SOURCES, vendored: () => ({ bundledVersions: installed }) },
    ];
    for (const sources of cases) {
      const layer = loadAsn1Layer(sources);
      assert.equal(layer.vendored, false);
      assert.equal(layer.Certificate, packages.x509.Certificate);
      assert.equal(layer.AsnConvert, packages.schema.AsnConvert);
    }
  });

  it('builds a copy that is taken and reads a notary root certificate as the packages do', async () => {
    const out = join(cleanup.tempDir('asn1-vendor-'), 'asn1-vendor.cjs');
    const built = await run(process.execPath, [join(repoRoot, 'scripts/vendor-asn1.mjs'), out], {
      timeoutMs: 120_000,
    });
    assert.equal(built.code, 0, built.stderr);
    const load = createRequire(import.meta.url);
    const layer = loadAsn1Layer({ ...ASN1_SOURCES, vendored: (): unknown => load(out) });
    assert.equal(layer.vendored, true);
    assert.notEqual(layer.Certificate, packages.x509.Certificate);

    const pem = readFileSync(
      fixturePath(
        'notary/docker/certs/root-dcf853765f98fe573ee581882dbf8cfafcbe2cee989273ae6a867e12adf7650e.pem'
      ),
      'latin1'
    );
    const der = (decodePemBlocks(pem)[0] as { der: Buffer }).der;
    const read = (l: {
      AsnConvert: typeof layer.AsnConvert;
      Certificate: typeof layer.Certificate;
    }) => {
      const c = l.AsnConvert.parse(der, l.Certificate);
      const tbs = c.tbsCertificate;
      return {
        algorithm: c.signatureAlgorithm.algorithm,
        // Plain arrays: the copy is minified, so its Array subclasses have other names.
        subject: Array.from(tbs.subject, (rdn) =>
          Array.from(rdn, (a) => [
            a.type,
            a.value.utf8String ?? a.value.printableString ?? a.value.toString(),
          ])
        ),
        notBefore: (
          tbs.validity.notBefore.utcTime ?? tbs.validity.notBefore.generalTime
        )?.toISOString(),
        notAfter: (
          tbs.validity.notAfter.utcTime ?? tbs.validity.notAfter.generalTime
        )?.toISOString(),
      };
    };
    const viaCopy = read(layer);
    assert.deepEqual(
      viaCopy,
      read({ AsnConvert: packages.schema.AsnConvert, Certificate: packages.x509.Certificate })
    );
    assert.equal(viaCopy.algorithm, '1.2.840.10045.4.3.2'); // ecdsa-with-SHA256, as notary makes them
    assert.ok(
      viaCopy.subject.flat().some(([type]) => type === '2.5.4.3'),
      'a CN'
    );
  });
});
