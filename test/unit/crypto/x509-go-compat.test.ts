/**
 * Reading certificates the way Go's crypto/x509 does (notary-server and the notary CLI are Go),
 * now through @peculiar/x509 (src/crypto/certificates.ts): the last CN of the subject wins, a
 * TeletexString is Latin-1, UTCTime years pivot at 1950/2049, GeneralizedTime carries later
 * years, a malformed time is refused, and SHA-1 signatures are named weak. Certificates come from
 * the real openssl CLI; times and strings are then set byte for byte in the DER (the signature is
 * not checked when reading fields), so nothing here depends on today's date.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCountersignError } from '../../../src/errors.js';
import { parseCertificate, weakSignatureAlgorithm } from '../../../src/crypto/x509.js';

function opensslCertificate(subject: string, days: number, digest = 'sha256'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'x509-go-'));
  try {
    const out = join(dir, 'cert.der');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-outform',
        'DER',
        '-out',
        out,
        '-days',
        String(days),
        `-${digest}`,
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

  for (const bad of ['491231235959+', '4912312359Z00', '49123123595aZ']) {
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
});
