/**
 * Root validation as notary-server does it (docs/protocol.md §2.5): structure, root certificates
 * (CN = GUN, validity, no SHA-1, RSA ≥ 2048), the "old and new thresholds" rotation rule, and
 * the self-signature check over keys rebuilt from the certificates in Go's PEM form.
 */
import { fail } from '../errors.js';
import { PublicKey, type KeyVerifiers } from '../crypto/keys.js';
import {
  certificatePem,
  certificateValidAt,
  weakSignatureAlgorithm,
  type Certificate,
} from '../crypto/x509.js';
import { BASE_ROLES } from './names.js';
import type { Root, SignedFile } from './metadata.js';
import { checkNotExpired, verifySignatures, type RoleVerifier } from './verify.js';

/** Structure rules for a root (step 1). */
export function checkRootStructure(root: Root): void {
  if (root.version < 1) fail('META_VERSION', 'root version must be at least 1');
  checkKeyIds(root.keys, 'root');
  for (const name of BASE_ROLES) {
    const r = root.roles[name];
    if (r.threshold < 1) fail('META_SHAPE', `role ${name} has an invalid threshold`);
    for (const id of r.keyids)
      if (!root.keys.has(id)) fail('META_SHAPE', `role ${name} lists unknown key ${id}`);
  }
}

/**
 * Every key must be listed under its own ID (hex SHA-256 of its canonical JSON; for an x509 key
 * that is the ID of the certificate key as written, not the "canonical" ID of the public key in
 * it, which only key stores and `notary key list` show). notary's clients build each role's keys
 * by computed ID and refuse a signature whose key's computed ID differs (ErrInvalidKeyID), so a
 * mismatched entry leaves the repository unreadable; notary-server accepts it, Countersign does not.
 */
export function checkKeyIds(keys: ReadonlyMap<string, PublicKey>, where: string): void {
  for (const [id, key] of keys)
    if (key.id !== id)
      fail('KEY_ID_MISMATCH', `${where} lists key ${id}, whose content has the ID ${key.id}`);
}

/** Does certificate CN `cn` name `gun`: equal, or a `prefix*` wildcard matching it. */
export function cnMatchesGun(cn: string, gun: string): boolean {
  return cn === gun || (cn.endsWith('*') && gun.startsWith(cn.slice(0, -1)));
}

function acceptableCert(cert: Certificate, now: Date, checkExpiry: boolean): boolean {
  if (checkExpiry && !certificateValidAt(cert, now)) return false;
  if (cert.notBefore.getTime() > cert.notAfter.getTime()) return false;
  if (weakSignatureAlgorithm(cert)) return false;
  if (cert.keyAlgorithm === 'rsa' && cert.rsaBits < 2048) return false;
  return cert.keyAlgorithm === 'ec' || cert.keyAlgorithm === 'rsa';
}

/**
 * The root role's keys rebuilt from their certificates (steps 2 and 5): for each listed x509
 * key whose bundle is all certificates with exactly one leaf, first, whose CN names the GUN and
 * which passes the checks, a key of the leaf + valid intermediates re-encoded as Go PEM. A
 * certificate not written in Go's PEM form therefore gets a different ID, and its signatures
 * are not found — exactly as in notary.
 */
export function rootCertificateKeys(
  root: Root,
  gun: string,
  now: Date,
  checkExpiry: boolean
): Map<string, PublicKey> {
  const out = new Map<string, PublicKey>();
  for (const id of root.roles.root.keyids) {
    const key = root.keys.get(id);
    const certs = key?.isX509 ? key.certificates : null;
    if (!certs || certs.length === 0) continue;
    const leaves = certs.filter((c) => !c.isCA);
    const leaf = certs[0];
    if (leaves.length !== 1 || !leaf || leaf.isCA) continue;
    if (!cnMatchesGun(leaf.commonName, gun) || !acceptableCert(leaf, now, checkExpiry)) continue;
    const intermediates = certs
      .slice(1)
      .filter((c) => c.isCA && acceptableCert(c, now, checkExpiry));
    const pem = [leaf, ...intermediates].map(certificatePem).join('');
    const rebuilt = new PublicKey(
      leaf.keyAlgorithm === 'rsa' ? 'rsa-x509' : 'ecdsa-x509',
      Buffer.from(pem, 'latin1').toString('base64')
    );
    out.set(rebuilt.id, rebuilt);
  }
  return out;
}

export interface RootCheckOptions {
  readonly gun: string;
  readonly now: Date;
  /** The currently trusted root, if any: its root threshold must also sign (rotation). */
  readonly previous?: SignedFile<Root>;
  /** Lowest acceptable version. */
  readonly minVersion?: number;
  /** Whether the root's own `expires` is checked (uploads yes, stored roots no). */
  readonly checkExpiry: boolean;
  /** Whether certificate validity dates are checked (notary checks them even for stored roots). */
  readonly checkCertExpiry?: boolean;
  /** The app's imported keys, shared across files (src/crypto/keys.ts). */
  readonly verifiers?: KeyVerifiers;
}

/**
 * Validates `file` as a trusted root for `gun` (trust on first use, as notary-server with empty
 * pinning). Throws ROOT_ROTATION, CERT_INVALID, META_THRESHOLD, META_EXPIRED or META_VERSION
 * with notary's messages.
 */
export function validateRoot(file: SignedFile<Root>, opts: RootCheckOptions): void {
  const root = file.signed;
  checkRootStructure(root);
  const certKeys = rootCertificateKeys(root, opts.gun, opts.now, opts.checkCertExpiry ?? true);
  if (certKeys.size === 0)
    fail(
      'CERT_INVALID',
      'could not validate the path to a trusted root: unable to retrieve valid leaf certificates'
    );
  if (opts.previous) {
    const prev = opts.previous.signed;
    const prevKeys = rootCertificateKeys(prev, opts.gun, opts.now, false);
    try {
      verifySignatures(
        file,
        { name: 'root', keys: prevKeys, threshold: prev.roles.root.threshold },
        opts.verifiers
      );
    } catch {
      fail(
        'ROOT_ROTATION',
        'could not rotate trust to a new trusted root: failed to validate data with current trusted certificates'
      );
    }
  }
  try {
    verifySignatures(
      file,
      { name: 'root', keys: certKeys, threshold: root.roles.root.threshold },
      opts.verifiers
    );
  } catch {
    fail(
      'ROOT_ROTATION',
      'could not validate the path to a trusted root: failed to validate integrity of roots'
    );
  }
  if (opts.minVersion !== undefined && root.version < opts.minVersion)
    fail('META_VERSION', `root version ${root.version} is below ${opts.minVersion}`);
  if (opts.checkExpiry) checkNotExpired(root, 'root', opts.now);
}

/** The verifier for a base role listed in a root. */
export function baseRoleVerifier(
  root: Root,
  name: 'targets' | 'snapshot' | 'timestamp' | 'root'
): RoleVerifier {
  const r = root.roles[name];
  const keys = new Map<string, PublicKey>();
  for (const id of r.keyids) {
    const k = root.keys.get(id);
    if (k) keys.set(id, k);
  }
  return { name, keys, threshold: r.threshold };
}
