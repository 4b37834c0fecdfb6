/**
 * Throwaway certificates made with the openssl CLI: a P-256 CA and a server certificate for
 * 127.0.0.1/localhost, and the x509 leaf certificates notary uses for root keys (CN = GUN) and
 * delegation keys. Every function writes into a directory the caller owns and returns file paths.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked } from './proc.js';

export interface CaFiles {
  certFile: string;
  keyFile: string;
}

export interface ServerTlsFiles {
  caFile: string;
  certFile: string;
  /** Unencrypted PKCS#8, the form the notary-server docs use. */
  keyFile: string;
}

export interface SigningCertFiles {
  certFile: string;
  /** Unencrypted SEC1 (`EC PRIVATE KEY`), accepted by `notary key import` and `docker trust key load`. */
  keyFile: string;
  /** The id of this certificate's key in metadata (`root.json` keyids, delegation keyids). */
  keyId: string;
  /**
   * The id of the bare public key, which is what the notary CLI prints (`delegation list`,
   * `key list`, "Root key found, using: …") and names private key files by.
   */
  canonicalKeyId: string;
}

export interface RootCertFiles extends SigningCertFiles {
  /** The same key as encrypted PKCS#8 under `passphrase`: `notary init --rootkey` takes only that. */
  encryptedKeyFile: string;
  passphrase: string;
}

async function openssl(args: string[]): Promise<void> {
  await runChecked('openssl', args, { timeoutMs: 20_000 });
}

async function ecKey(file: string): Promise<void> {
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file]);
}

const serial = (): string => '0x' + randomBytes(12).toString('hex');

/** openssl's -subj syntax treats `/` as an RDN separator; GUNs are full of them. */
const subject = (cn: string): string => '/CN=' + cn.replace(/[\\/]/g, (c) => '\\' + c);

export async function makeCa(dir: string, cn = 'Countersign Test CA'): Promise<CaFiles> {
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  await ecKey(keyFile);
  // prettier-ignore
  await openssl([
    'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '3650', '-subj', subject(cn),
    '-set_serial', serial(),
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/** Leaf signed by `ca`, with the given extensions (one `key=value` per line). */
async function issue(
  dir: string,
  name: string,
  cn: string,
  ca: CaFiles,
  extensions: string[],
  days: number
): Promise<{ certFile: string; keyFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const certFile = join(dir, `${name}.crt`);
  await ecKey(keyFile);
  await openssl(['req', '-new', '-key', keyFile, '-subj', subject(cn), '-out', csrFile]);
  writeFileSync(extFile, extensions.join('\n') + '\n');
  // prettier-ignore
  await openssl([
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile,
    '-set_serial', serial(), '-days', String(days), '-sha256', '-extfile', extFile, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

/** Server certificate for 127.0.0.1 and localhost (plus `hosts`), signed by `ca`. */
export async function makeServerCert(
  dir: string,
  ca: CaFiles,
  hosts: string[] = []
): Promise<{ certFile: string; keyFile: string }> {
  const san = [
    'IP:127.0.0.1',
    'DNS:localhost',
    ...hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)),
  ];
  const { certFile, keyFile } = await issue(
    dir,
    'server',
    'countersign-test-server',
    ca,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${san.join(',')}`,
    ],
    825
  );
  const pkcs8 = join(dir, 'server.pkcs8.key');
  await openssl(['pkcs8', '-topk8', '-nocrypt', '-in', keyFile, '-out', pkcs8]);
  return { certFile, keyFile: pkcs8 };
}

/** A fresh CA and a server certificate it signed, in `dir`. */
export async function makeServerTls(dir: string): Promise<ServerTlsFiles> {
  const ca = await makeCa(dir);
  const server = await makeServerCert(dir, ca);
  return { caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile };
}

// Notary's checks on root/delegation certificates: a leaf (CA:FALSE, or it is filed as an
// intermediate and "no valid leaf certificates" follows), not expired, SHA-256 or better. No
// extendedKeyUsage: trust_pinning.ca verifies the chain with Go's default (serverAuth), which a
// codeSigning-only leaf fails ("unable to match any certificates to trust_pinning config").
const LEAF_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature',
];

async function signingCert(
  dir: string,
  name: string,
  cn: string,
  opts: { issuer?: CaFiles; days?: number }
): Promise<SigningCertFiles> {
  const days = opts.days ?? 3650;
  let files: { certFile: string; keyFile: string };
  if (opts.issuer) {
    files = await issue(dir, name, cn, opts.issuer, LEAF_EXTENSIONS, days);
  } else {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.crt`);
    await ecKey(keyFile);
    // prettier-ignore
    await openssl([
      'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', String(days), '-subj', subject(cn),
      '-set_serial', serial(), ...LEAF_EXTENSIONS.flatMap((e) => ['-addext', e]), '-out', certFile,
    ]);
    files = { certFile, keyFile };
  }
  const pem = readFileSync(files.certFile, 'utf8');
  return { ...files, keyId: notaryCertKeyId(pem), canonicalKeyId: notaryCanonicalKeyId(pem) };
}

/** Certificate + key for a delegation role (`notary delegation add`, `notary key import -r`). */
export async function makeDelegationCert(
  dir: string,
  opts: { name?: string; cn?: string; issuer?: CaFiles; days?: number } = {}
): Promise<SigningCertFiles> {
  const name = opts.name ?? 'delegation';
  return signingCert(dir, name, opts.cn ?? name, opts);
}

/**
 * Root certificate for `gun` (notary requires CN = GUN) and its key, also encrypted for
 * `notary init --rootkey` (which refuses plain keys). Pass `issuer` to chain it to a CA for
 * `trust_pinning.ca`.
 */
export async function makeRootCert(
  dir: string,
  gun: string,
  opts: { passphrase: string; issuer?: CaFiles; days?: number; name?: string }
): Promise<RootCertFiles> {
  const name = opts.name ?? 'root';
  const files = await signingCert(dir, name, gun, opts);
  const encryptedKeyFile = join(dir, `${name}.enc.key`);
  // notary's PKCS#8 decoder knows PBKDF2 with HMAC-SHA1 only; openssl 3 defaults to SHA-256
  // and notary then reports "password invalid".
  // prettier-ignore
  await openssl([
    'pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1',
    '-passout', `pass:${opts.passphrase}`, '-in', files.keyFile, '-out', encryptedKeyFile,
  ]);
  return { ...files, encryptedKeyFile, passphrase: opts.passphrase };
}

/**
 * The TUF key id notary assigns to an x509 certificate: sha256 of the canonical JSON of the
 * `ecdsa-x509` public key whose value is the certificate re-encoded as PEM the way Go does.
 */
export function notaryCertKeyId(certPem: string): string {
  const der = new X509Certificate(certPem).raw;
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  return tufKeyId('ecdsa-x509', Buffer.from(pem, 'utf8'));
}

/** The "canonical" id notary's CLI shows: the bare ECDSA key (DER SubjectPublicKeyInfo). */
export function notaryCanonicalKeyId(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return tufKeyId('ecdsa', spki);
}

function tufKeyId(keytype: string, publicBytes: Buffer): string {
  const keyJson = `{"keytype":"${keytype}","keyval":{"private":null,"public":"${publicBytes.toString('base64')}"}}`;
  return createHash('sha256').update(keyJson).digest('hex');
}
