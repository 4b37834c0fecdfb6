/**
 * TLS material for `serve` without `--tls-cert`: a self-signed CA and a server certificate it
 * issued, generated into DATA/tls on first start and reused after (docs/interfaces.md "Serving"). The
 * server certificate is reissued (same CA) when the requested host names change or it nears
 * expiry, so `notary --tlscacert DATA/tls/ca.crt` keeps working across restarts.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';
import { generateP256, issueCertificate, privateKeyPem } from '../crypto/certificates.js';
import type { Clock } from '../util/clock.js';

export interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

const DAY = 86_400_000;
const DEFAULT_NAMES = ['localhost', '127.0.0.1', '::1'];

export async function ensureSelfSignedTls(
  dir: string,
  hostnames: readonly string[],
  clock: Clock
): Promise<TlsFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    caFile: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
  const now = clock.now();
  const names = [...new Set([...DEFAULT_NAMES, ...hostnames])];
  if (!existsSync(files.caFile) || !existsSync(files.caKey)) {
    const ca = await generateP256();
    const pem = await issueCertificate(
      {
        commonName: 'Countersign local CA',
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + 10 * 365 * DAY),
        isCA: true,
        keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
      },
      ca
    );
    writeSecret(files.caKey, await privateKeyPem(ca.privateKey));
    writeFileSync(files.caFile, pem);
  }
  if (needsServerCert(files.certFile, names, now)) {
    const caPem = readFileSync(files.caFile, 'utf8');
    const caKey = await webcrypto.subtle.importKey(
      'pkcs8',
      pemBody(readFileSync(files.caKey, 'utf8')),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign']
    );
    const keys = await generateP256();
    const pem = await issueCertificate(
      {
        commonName: names.find((n) => isIP(n) === 0) ?? 'localhost',
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + 397 * DAY),
        isCA: false,
        keyUsage: ['digitalSignature', 'keyEncipherment'],
        extKeyUsage: ['serverAuth'],
        dnsNames: names.filter((n) => isIP(n) === 0),
        ipAddresses: names.filter((n) => isIP(n) !== 0),
      },
      keys,
      { certificatePem: caPem, privateKey: caKey }
    );
    writeSecret(files.keyFile, await privateKeyPem(keys.privateKey));
    writeFileSync(files.certFile, pem + caPem);
  }
  return { caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile };
}

function needsServerCert(certFile: string, names: readonly string[], now: Date): boolean {
  if (!existsSync(certFile)) return true;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (new Date(cert.validTo).getTime() - now.getTime() < 30 * DAY) return true;
    const san = cert.subjectAltName ?? '';
    return !names.every((n) =>
      san.includes(isIP(n) ? `IP Address:${n.includes(':') ? expandV6(n) : n}` : `DNS:${n}`)
    );
  } catch {
    return true;
  }
}

/** Node prints IPv6 SANs fully expanded in upper case (`0:0:0:0:0:0:0:1`). */
function expandV6(ip: string): string {
  return ip === '::1' ? '0:0:0:0:0:0:0:1' : ip.toUpperCase();
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
