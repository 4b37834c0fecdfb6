/**
 * Creating X.509 certificates (@peculiar/x509 through src/crypto/x509-lib.ts, over WebCrypto):
 * the self-signed TLS material `serve` generates on first start, and later the store CA and the
 * public roots' certificates. Keys are P-256 throughout; a server-held key's secret is
 * imported for the moment of signing.
 */
import { webcrypto } from 'node:crypto';
import { x509 } from './x509-lib.js';
import { p256PublicPoint } from './signing.js';

type CryptoKey = webcrypto.CryptoKey;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface CertificateRequest {
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA: boolean;
  /** DNS names and IP addresses for a TLS server certificate. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** `serverAuth` for TLS; omitted entirely for notary root certificates (see docs/design.md "Verified facts"). */
  readonly extKeyUsage?: readonly ('serverAuth' | 'clientAuth' | 'codeSigning')[];
  readonly keyUsage: readonly (
    'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign'
  )[];
  readonly serialNumber?: string;
}

export interface Issuer {
  readonly certificatePem: string;
  readonly privateKey: CryptoKey;
}

export interface GeneratedKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export async function generateP256(): Promise<GeneratedKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

/** A WebCrypto key pair from a 32-byte P-256 secret (a server-held key, opened by the signer). */
export async function p256FromSecret(secret: Uint8Array): Promise<GeneratedKeyPair> {
  const point = p256PublicPoint(secret);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: b64(point.subarray(1, 33)),
    y: b64(point.subarray(33, 65)),
  };
  const privateKey = await webcrypto.subtle.importKey(
    'jwk',
    { ...jwk, d: b64(secret) },
    ALG,
    true,
    ['sign']
  );
  const publicKey = await webcrypto.subtle.importKey('jwk', jwk, ALG, true, ['verify']);
  return { privateKey, publicKey };
}

/** Issues a certificate for `publicKey`, signed by `issuer` (or self-signed when absent, with `selfKey`). */
export async function issueCertificate(
  req: CertificateRequest,
  subjectKeys: GeneratedKeyPair,
  issuer?: Issuer
): Promise<string> {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(req.isCA, undefined, true),
    new x509.KeyUsagesExtension(
      req.keyUsage.reduce<number>((flags, u) => flags | x509.KeyUsageFlags[u], 0),
      true
    ),
    await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
  ];
  if (req.extKeyUsage && req.extKeyUsage.length > 0) {
    const oids = {
      serverAuth: x509.ExtendedKeyUsage.serverAuth,
      clientAuth: x509.ExtendedKeyUsage.clientAuth,
      codeSigning: x509.ExtendedKeyUsage.codeSigning,
    };
    extensions.push(new x509.ExtendedKeyUsageExtension(req.extKeyUsage.map((u) => oids[u])));
  }
  const names = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const serialNumber =
    req.serialNumber ??
    Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '7');
  const subject = `CN=${escapeDn(req.commonName)}`;
  let cert: x509.X509Certificate;
  if (issuer) {
    const issuerCert = new x509.X509Certificate(issuer.certificatePem);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
    cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: issuerCert.subject,
      notBefore: req.notBefore,
      notAfter: req.notAfter,
      signingAlgorithm: ALG,
      publicKey: subjectKeys.publicKey,
      signingKey: issuer.privateKey,
      extensions,
    });
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber,
      name: subject,
      notBefore: req.notBefore,
      notAfter: req.notAfter,
      signingAlgorithm: ALG,
      keys: subjectKeys,
      extensions,
    });
  }
  return cert.toString('pem') + '\n';
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

/** RFC 4514 escaping for a CN value (GUNs are plain, but never trust that). */
function escapeDn(value: string): string {
  return value.replace(/[,+"\\<>;=#]/g, (c) => '\\' + c);
}
