/**
 * Reading certificates the way Go's crypto/x509 does (notary-server and the notary CLI are Go),
 * with node:crypto plus the DER reader of src/crypto/x509-fields.ts: the last CN of the subject
 * wins, a TeletexString is Latin-1 and a BMPString UTF-16, a CN of a type Go does not read is
 * refused, UTCTime years pivot at 1950/2049, GeneralizedTime carries later years, only the strict
 * X.509 time forms are read, trailing data is refused, and SHA-1 signatures are named weak. The
 * fields are also compared with what @peculiar/x509 reads from the same certificates. Certificates
 * come from the real openssl CLI; times and strings are then set byte for byte in the DER (the
 * signature is not checked when reading fields), so nothing here depends on today's date.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCountersignError } from '../../../src/errors.js';
import { parseCertificate, weakSignatureAlgorithm } from '../../../src/crypto/x509.js';
import { readCertificateFields } from '../../../src/crypto/x509-fields.js';
import { x509 } from '../../../src/crypto/x509-lib.js';

function opensslCertificate(
  subject: string,
  days: number,
  digest = 'sha256',
  key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'x509-go-'));
  try {
    const out = join(dir, 'cert.der');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...key,
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-outform',
        'DER',
        '-out',
        out,
        '-days',
        String(days),
        ...(digest === '' ? [] : [`-${digest}`]),
        '-utf8',
        '-subj',
        subject,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Overwrites the value of the `nth` TLV with this tag and length (a same-size patch). */
function patch(der: Buffer, tag: number, value: Buffer, nth = 0): Buffer {
  const copy = Buffer.from(der);
  let at = -1;
  for (let i = 0; i <= nth; i++) at = copy.indexOf(Buffer.from([tag, value.length]), at + 1);
  assert.ok(at >= 0, `no TLV ${tag.toString(16)} of length ${value.length} to patch`);
  value.copy(copy, at + 2);
  return copy;
}

const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

describe('certificates read as Go reads them', () => {
  it('the last CN of the subject is the common name', () => {
    const cert = parseCertificate(opensslCertificate('/CN=first/O=acme/CN=second', 1));
    assert.equal(cert.commonName, 'second');
  });

  it('a TeletexString is Latin-1', () => {
    const der = opensslCertificate('/CN=abcd', 1);
    // The subject's UTF8String "abcd" becomes a TeletexString of the Latin-1 bytes of "été!".
    const at = der.lastIndexOf(Buffer.from([0x0c, 0x04, 0x61, 0x62, 0x63, 0x64]));
    assert.ok(at > 0);
    const teletex = Buffer.from(der);
    teletex[at] = 0x14;
    Buffer.from('été!', 'latin1').copy(teletex, at + 2);
    assert.equal(parseCertificate(teletex).commonName, 'été!');
  });

  it('UTCTime years 50–99 are 19xx and 00–49 are 20xx', () => {
    const der = opensslCertificate('/CN=t', 1);
    const cert = parseCertificate(
      patch(
        patch(der, UTC_TIME, Buffer.from('500101000000Z')),
        UTC_TIME,
        Buffer.from('491231235959Z'),
        1
      )
    );
    assert.equal(cert.notBefore.toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(cert.notAfter.toISOString(), '2049-12-31T23:59:59.000Z');
  });

  it('GeneralizedTime carries years from 2050 on', () => {
    // 40 years from whenever this runs: past 2049, so openssl writes a GeneralizedTime.
    const der = opensslCertificate('/CN=t', 40 * 366);
    const cert = parseCertificate(patch(der, GENERALIZED_TIME, Buffer.from('20991231235959Z')));
    assert.equal(cert.notAfter.toISOString(), '2099-12-31T23:59:59.000Z');
  });

  // Offsets, missing seconds, a 60th second, month 13, 30 February: X.509 allows none of them.
  for (const bad of [
    '491231235959+',
    '4912312359Z00',
    '49123123595aZ',
    '4912312359+01',
    '491231235960Z',
    '491331235959Z',
    '490230235959Z',
    '0491231235959',
  ]) {
    it(`a malformed UTCTime ${JSON.stringify(bad)} is refused`, () => {
      const der = patch(opensslCertificate('/CN=t', 1), UTC_TIME, Buffer.from(bad));
      assert.throws(
        () => parseCertificate(der),
        (err) => isCountersignError(err, 'CERT_INVALID')
      );
    });
  }

  it('a SHA-1 signature is named weak, SHA-256 is not', () => {
    assert.equal(
      weakSignatureAlgorithm(parseCertificate(opensslCertificate('/CN=s', 1))),
      undefined
    );
    assert.equal(
      weakSignatureAlgorithm(parseCertificate(opensslCertificate('/CN=s', 1, 'sha1'))),
      'ECDSAWithSHA1'
    );
  });

  for (const bad of ['209912312359.5Z', '20991231235959+', '19491231235959Z', '20990230235959Z']) {
    it(`a malformed GeneralizedTime ${JSON.stringify(bad)} is refused`, () => {
      const der = opensslCertificate('/CN=t', 40 * 366);
      assert.throws(
        () => parseCertificate(patch(der, GENERALIZED_TIME, Buffer.from(bad))),
        (err) => isCountersignError(err, 'CERT_INVALID')
      );
    });
  }

  it('a BMPString is UTF-16 (a trailing NUL dropped), a NumericString is read byte for byte', () => {
    const der = opensslCertificate('/CN=abcd', 1);
    const at = der.lastIndexOf(Buffer.from([0x0c, 0x04, 0x61, 0x62, 0x63, 0x64]));
    const bmp = Buffer.from(der);
    bmp[at] = 0x1e;
    Buffer.from([0x00, 0xe9, 0x00, 0x00]).copy(bmp, at + 2); // "é" then a NUL terminator
    assert.equal(parseCertificate(bmp).commonName, 'é');
    const numeric = Buffer.from(der);
    numeric[at] = 0x12;
    Buffer.from('1234').copy(numeric, at + 2);
    assert.equal(parseCertificate(numeric).commonName, '1234');
  });

  it('a CN of a string type Go does not read, or an odd-length BMPString, is refused', () => {
    const der = opensslCertificate('/CN=abcd', 1);
    const at = der.lastIndexOf(Buffer.from([0x0c, 0x04, 0x61, 0x62, 0x63, 0x64]));
    for (const tag of [0x1a, 0x1c, 0x04]) {
      const other = Buffer.from(der);
      other[at] = tag; // VisibleString, UniversalString, OCTET STRING
      assert.throws(
        () => readCertificateFields(other),
        (err) => isCountersignError(err, 'CERT_INVALID'),
        `tag 0x${tag.toString(16)}`
      );
    }
    const odd = opensslCertificate('/CN=abc', 1);
    const oddAt = odd.lastIndexOf(Buffer.from([0x0c, 0x03, 0x61, 0x62, 0x63]));
    odd[oddAt] = 0x1e;
    assert.throws(
      () => readCertificateFields(odd),
      (err) => isCountersignError(err, 'CERT_INVALID')
    );
  });

  it('trailing data after the certificate is refused, as Go refuses it', () => {
    const der = opensslCertificate('/CN=t', 1);
    assert.throws(
      () => readCertificateFields(Buffer.concat([der, Buffer.from([0x05, 0x00])])),
      (err) => isCountersignError(err, 'CERT_INVALID')
    );
  });

  it('reads every CN of a multi-valued RDN, in order', () => {
    const cert = parseCertificate(opensslCertificate('/O=acme+CN=one+CN=two/CN=three', 1));
    assert.deepEqual(readCertificateFields(cert.der).commonNames, ['one', 'two', 'three']);
    assert.equal(cert.commonName, 'three');
  });

  it('reads the same fields as @peculiar/x509, for RSA, EC and Ed25519 certificates', () => {
    const names: Record<string, string> = {
      '1.2.840.113549.1.1.11': 'RSASSA-PKCS1-v1_5 SHA-256',
      '1.2.840.113549.1.1.5': 'RSASSA-PKCS1-v1_5 SHA-1',
      '1.2.840.10045.4.3.2': 'ECDSA SHA-256',
      '1.2.840.10045.4.3.3': 'ECDSA SHA-384',
      '1.3.101.112': 'Ed25519',
    };
    const long = 'x'.repeat(60); // three of them: a subject in long form
    const cases: [string, string, string[], number][] = [
      [`/CN=${long}/O=${long}/OU=${long}`, 'sha256', ['-newkey', 'rsa:2048'], 1],
      ['/CN=a/CN=b', 'sha1', ['-newkey', 'rsa:2048'], 1],
      ['/CN=p384', 'sha384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 40 * 366],
      ['/CN=ed/O=x', '', ['-newkey', 'ed25519'], 1],
      ['/O=no-cn', 'sha256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 1],
    ];
    for (const [subject, digest, key, days] of cases) {
      const der = opensslCertificate(subject, days, digest, key);
      const ours = readCertificateFields(der);
      const theirs = new x509.X509Certificate(der);
      const alg = theirs.signatureAlgorithm as { name: string; hash?: { name: string } };
      assert.equal(
        names[ours.signatureAlgorithmOid],
        [alg.name, alg.hash?.name].filter(Boolean).join(' '),
        subject
      );
      assert.deepEqual(ours.commonNames, theirs.subjectName.getField('CN'), subject);
      assert.equal(ours.notBefore.getTime(), theirs.notBefore.getTime(), subject);
      assert.equal(ours.notAfter.getTime(), theirs.notAfter.getTime(), subject);
    }
  });

  it('parses the same bytes once, and keeps its own copy of them', () => {
    const der = opensslCertificate('/CN=cached', 1);
    const first = parseCertificate(der);
    assert.equal(parseCertificate(Buffer.from(der)), first);
    der.fill(0); // the caller reuses its buffer
    assert.equal(first.commonName, 'cached');
    assert.notEqual(first.der[0], 0);
  });
});
