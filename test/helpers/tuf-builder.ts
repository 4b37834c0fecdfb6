/**
 * Builds signed Notary-dialect repositories in tests with keys made here: x509 root certificates
 * (CN = GUN) like the notary CLI makes, ecdsa/ed25519 role keys, any expiry and version. Used to
 * derive valid and invalid variants (the notary swizzler's approach); compatibility itself is
 * proven elsewhere with metadata from the real notary tools.
 */
import { canonicalBytes } from '../../src/canonical/encode.js';
import { encodePem, decodePemBlocks } from '../../src/crypto/pem.js';
import { PublicKey } from '../../src/crypto/keys.js';
import { generateSigningKey, type SigningKey } from '../../src/crypto/signing.js';
import { issueCertificate, p256FromSecret } from '../../src/crypto/certificates.js';
import { envelopeBytes } from '../../src/tuf/build.js';
import { fileMetaOf } from '../../src/tuf/verify.js';
import { formatExpires } from '../../src/tuf/time.js';
import type { JsonObject } from '../../src/tuf/metadata.js';
import type { KeyAlgorithm } from '../../src/storage/types.js';

const DAY = 86_400_000;

/** A key that signs as some metadata key ID (for x509 keys, the certificate's ID). */
export interface TestKey {
  readonly signing: SigningKey;
  readonly publicKey: PublicKey;
}

export function plainKey(algorithm: KeyAlgorithm = 'ecdsa'): TestKey {
  const signing = generateSigningKey(algorithm);
  return { signing, publicKey: signing.publicKey };
}

/** An ecdsa-x509 key: a P-256 key with a self-signed certificate, CN = `cn`, as notary's CLI makes root keys. */
export async function x509Key(
  cn: string,
  opts: { notBefore?: Date; notAfter?: Date; isCA?: boolean } = {}
): Promise<TestKey> {
  const signing = generateSigningKey('ecdsa');
  const pair = await p256FromSecret(signing.secretBytes());
  const now = Date.now();
  const pem = await issueCertificate(
    {
      commonName: cn,
      notBefore: opts.notBefore ?? new Date(now - DAY),
      notAfter: opts.notAfter ?? new Date(now + 3650 * DAY),
      isCA: opts.isCA ?? false,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extKeyUsage: ['codeSigning'],
    },
    pair
  );
  const block = decodePemBlocks(pem)[0];
  if (!block) throw new Error('no certificate');
  const goPem = encodePem('CERTIFICATE', block.der);
  return { signing, publicKey: new PublicKey('ecdsa-x509', Buffer.from(goPem).toString('base64')) };
}

/** Signs `signed` with each key (as its metadata key ID) into Notary's envelope bytes. */
export function sign(signed: JsonObject, keys: readonly TestKey[]): Buffer {
  const msg = canonicalBytes(signed);
  const sigs = keys.map((k) => {
    const s = k.signing.sign(msg);
    return { keyid: k.publicKey.id, method: s.method, sig: s.sig.toString('base64') };
  });
  return envelopeBytes(signed, sigs);
}

export function expiresIn(days: number, from = Date.now()): string {
  return formatExpires(new Date(from + days * DAY));
}

/** A key a root lists: one we hold, or only a public key (the server's). */
export type KeyRef = TestKey | { keyid: string; key: PublicKey };

export interface RootSpec {
  root: readonly KeyRef[];
  targets: readonly KeyRef[];
  snapshot: readonly KeyRef[];
  timestamp: readonly KeyRef[];
  version?: number;
  expires?: string;
  thresholds?: Partial<Record<'root' | 'targets' | 'snapshot' | 'timestamp', number>>;
}

function asEntries(keys: readonly KeyRef[]): { id: string; key: PublicKey }[] {
  return keys.map((k) =>
    'publicKey' in k ? { id: k.publicKey.id, key: k.publicKey } : { id: k.keyid, key: k.key }
  );
}

export function rootSigned(spec: RootSpec): JsonObject {
  const keys: JsonObject = {};
  const role = (
    list: { id: string; key: PublicKey }[],
    name: keyof NonNullable<RootSpec['thresholds']>
  ) => {
    for (const e of list) keys[e.id] = e.key.toJSON();
    return { keyids: list.map((e) => e.id), threshold: spec.thresholds?.[name] ?? 1 };
  };
  const roles = {
    root: role(asEntries(spec.root), 'root'),
    snapshot: role(asEntries(spec.snapshot), 'snapshot'),
    targets: role(asEntries(spec.targets), 'targets'),
    timestamp: role(asEntries(spec.timestamp), 'timestamp'),
  };
  return {
    _type: 'Root',
    consistent_snapshot: false,
    expires: spec.expires ?? expiresIn(3650),
    keys,
    roles,
    version: spec.version ?? 1,
  };
}

export interface TargetSpec {
  readonly name: string;
  readonly bytes?: Buffer;
  readonly length?: number;
  readonly sha256?: Buffer;
  readonly custom?: unknown;
}

/** N targets `app-0`… with made-up lengths and digests: a targets file of any size, cheaply. */
export function manyTargets(n: number): TargetSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `app-${i}`,
    length: 1000 + i,
    sha256: Buffer.alloc(32, i % 251),
  }));
}

export function targetsSigned(opts: {
  targets?: readonly TargetSpec[];
  delegations?: {
    keys: readonly TestKey[];
    roles: readonly {
      name: string;
      keyids: readonly string[];
      threshold?: number;
      paths?: readonly string[];
    }[];
  };
  version?: number;
  expires?: string;
}): JsonObject {
  const targets: JsonObject = {};
  for (const t of opts.targets ?? []) {
    const meta = t.bytes
      ? fileMetaOf(t.bytes)
      : {
          hashes: { sha256: (t.sha256 ?? Buffer.alloc(32, 1)).toString('base64') },
          length: t.length ?? 1,
        };
    targets[t.name] = t.custom === undefined ? meta : { ...meta, custom: t.custom };
  }
  const dkeys: JsonObject = {};
  for (const k of opts.delegations?.keys ?? []) dkeys[k.publicKey.id] = k.publicKey.toJSON();
  const roles = (opts.delegations?.roles ?? []).map((r) => ({
    keyids: [...r.keyids],
    name: r.name,
    ...(r.paths ? { paths: [...r.paths] } : {}),
    threshold: r.threshold ?? 1,
  }));
  return {
    _type: 'Targets',
    delegations: { keys: dkeys, roles },
    expires: opts.expires ?? expiresIn(1095),
    targets,
    version: opts.version ?? 1,
  };
}

export function snapshotSignedFor(
  files: ReadonlyMap<string, Buffer>,
  version = 1,
  expires = expiresIn(1095)
): JsonObject {
  const meta: JsonObject = {};
  for (const [role, bytes] of files) meta[role] = fileMetaOf(bytes);
  return { _type: 'Snapshot', expires, meta, version };
}

export function timestampSignedFor(
  snapshot: Buffer,
  version = 1,
  expires = expiresIn(14)
): JsonObject {
  return { _type: 'Timestamp', expires, meta: { snapshot: fileMetaOf(snapshot) }, version };
}
