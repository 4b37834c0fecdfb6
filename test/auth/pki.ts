/** Test-only keys and certificates for token signing (@peculiar/x509 over WebCrypto). */
import { KeyObject, X509Certificate, generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly cryptoKeys: webcrypto.CryptoKeyPair;
}

export async function makeEcKey(): Promise<TestKey> {
  const cryptoKeys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  return {
    cryptoKeys,
    privateKey: KeyObject.from(cryptoKeys.privateKey),
    publicKey: KeyObject.from(cryptoKeys.publicKey),
  };
}

export interface CertOptions {
  readonly subject: string;
  readonly key: TestKey;
  /** Signs the certificate; self-signed when absent. */
  readonly issuer?: { readonly cert: X509Certificate; readonly key: TestKey };
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

let serial = 1;

export async function makeCert(options: CertOptions): Promise<X509Certificate> {
  const now = Date.now();
  const ca = options.ca ?? false;
  const issuerName =
    options.issuer === undefined
      ? `CN=${options.subject}`
      : options.issuer.cert.subject.replace(/\n/g, ', ');
  const signer = options.issuer?.key ?? options.key;
  const usage = ca
    ? x509.KeyUsageFlags.keyCertSign |
      x509.KeyUsageFlags.cRLSign |
      x509.KeyUsageFlags.digitalSignature
    : x509.KeyUsageFlags.digitalSignature;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${options.subject}`,
    issuer: issuerName,
    notBefore: options.notBefore ?? new Date(now - 3600_000),
    notAfter: options.notAfter ?? new Date(now + 24 * 3600_000),
    signingAlgorithm: EC_P256,
    publicKey: options.key.cryptoKeys.publicKey,
    signingKey: signer.cryptoKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      await x509.SubjectKeyIdentifierExtension.create(options.key.cryptoKeys.publicKey),
    ],
  });
  return new X509Certificate(Buffer.from(cert.rawData));
}

export function toPem(certs: readonly X509Certificate[]): string {
  return certs.map((c) => c.toString()).join('');
}

export function rsaKey(bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits });
}
