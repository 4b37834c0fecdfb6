/**
 * The checks every role file goes through (docs/protocol.md §2.5 "Signature verification in general",
 * §2.7): signatures over the canonical re-encoding, counted over distinct valid key IDs; expiry
 * against a time passed in; hashes and lengths over exact bytes.
 */
import { fail } from '../errors.js';
import type { KeyVerifiers, PublicKey } from '../crypto/keys.js';
import { sha256, sha512 } from '../crypto/hash.js';
import { fromBase64 } from '../util/bytes.js';
import type { FileMeta, SignedFile, SignedCommon } from './metadata.js';
import { goTimeText } from './time.js';

/** The keys and threshold a role's signatures are checked against. */
export interface RoleVerifier {
  readonly name: string;
  /** Keys by declared ID. */
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly threshold: number;
}

/**
 * Signatures of a file already verified elsewhere over its exact canonical bytes — by the upload
 * worker, which parses a large targets file and checks its signatures against the keys the
 * stored root lists (src/notary/validate-worker.ts) — so the event loop neither re-encodes nor
 * hashes 1 MB again. Entries name the key's type and public value, the method and the signature
 * (signatureEntry), so an entry can only stand in for that same check: a key the role does not
 * list, or another signature, is verified here as before.
 */
const verifiedElsewhere = new WeakMap<SignedFile, ReadonlySet<string>>();

/** What one verified signature is remembered by: the key's content, the method, the signature. */
export function signatureEntry(key: PublicKey, method: string, sigB64: string): string {
  return JSON.stringify([key.keyType, key.publicB64, method, sigB64]);
}

/** Records signatures of `file` verified elsewhere over `file.canonical()` (signatureEntry). */
export function rememberVerifiedSignatures(file: SignedFile, entries: Iterable<string>): void {
  verifiedElsewhere.set(file, new Set(entries));
}

/** The signatures of `file` recorded as verified elsewhere (empty when none). */
export function signaturesVerifiedElsewhere(file: SignedFile): ReadonlySet<string> {
  return verifiedElsewhere.get(file) ?? new Set();
}

/**
 * notary's VerifySignatures: unknown key IDs are skipped; a listed key whose computed ID is not
 * the declared one is a hard error; invalid signatures are skipped; the number of distinct key
 * IDs with a valid signature must reach the threshold. Returns those key IDs. `verifiers`, the
 * app's imported keys (src/crypto/keys.ts), saves importing a known key again.
 */
export function verifySignatures(
  file: SignedFile,
  role: RoleVerifier,
  verifiers?: KeyVerifiers
): Set<string> {
  if (file.signatures.length === 0) fail('META_NO_SIGNATURES', 'tuf: data has no signatures');
  if (role.threshold < 1) fail('META_THRESHOLD', `invalid threshold for ${role.name}`);
  const known = verifiedElsewhere.get(file);
  let message: Buffer | undefined; // encoded only if some signature is checked here
  const valid = new Set<string>();
  for (const s of file.signatures) {
    const key = role.keys.get(s.keyid);
    if (!key) continue;
    if (key.id !== s.keyid) fail('KEY_ID_MISMATCH', 'key ID is not valid for key content');
    if (valid.has(s.keyid)) continue;
    if (known?.has(signatureEntry(key, s.method, s.sig))) {
      valid.add(s.keyid);
      continue;
    }
    const sig = fromBase64(s.sig);
    if (sig && key.verify(s.method, (message ??= file.canonical()), sig, verifiers))
      valid.add(s.keyid);
  }
  if (valid.size < role.threshold)
    fail('META_THRESHOLD', `valid signatures did not meet threshold for ${role.name}`);
  return valid;
}

/** Strictly `expires < now` counts as expired (docs/protocol.md §10.12). */
export function isExpired(signed: SignedCommon, now: Date): boolean {
  return signed.expires.getTime() < now.getTime();
}

export function checkNotExpired(signed: SignedCommon, roleName: string, now: Date): void {
  if (isExpired(signed, now))
    fail('META_EXPIRED', `${roleName} expired at ${goTimeText(signed.expires)}`);
}

const DIGEST_SIZES: Record<string, number> = { sha256: 32, sha512: 64 };

/**
 * The bytes match what the parent metadata promises: every hash present for a known algorithm
 * matches, at least one known hash is present, and (when `checkLength`) the length is exact.
 * notary checks no length for uploaded roles; clients always do, and so does Countersign where
 * it reads a chain (docs/protocol.md §2.7, issue "snapshot length is checked").
 */
export function checkFileMeta(
  bytes: Uint8Array,
  meta: FileMeta,
  roleName: string,
  checkLength = true
): void {
  let known = 0;
  for (const [alg, b64] of Object.entries(meta.hashes)) {
    const size = DIGEST_SIZES[alg];
    if (size === undefined) continue;
    known++;
    const expected = fromBase64(b64);
    if (!expected || expected.length !== size)
      fail('META_HASH_MISMATCH', `${alg} checksum for ${roleName} has the wrong length`);
    const actual = alg === 'sha256' ? sha256(bytes) : sha512(bytes);
    if (!actual.equals(expected))
      fail(
        'META_HASH_MISMATCH',
        `${alg} checksum for ${roleName} did not match: expected ${expected.toString('hex')}`
      );
  }
  if (known === 0)
    fail(
      'META_HASH_MISMATCH',
      `no checksums for supported algorithms were provided for ${roleName}`
    );
  if (checkLength && meta.length !== bytes.length)
    fail('META_HASH_MISMATCH', `length of ${roleName} is ${bytes.length}, expected ${meta.length}`);
}

/** Hash entries present must have the right sizes (snapshot structure check, docs/protocol.md §2.7). */
export function checkHashSizes(meta: FileMeta, roleName: string): void {
  for (const [alg, b64] of Object.entries(meta.hashes)) {
    const size = DIGEST_SIZES[alg];
    if (size !== undefined && fromBase64(b64)?.length !== size)
      fail('META_SHAPE', `${alg} checksum for ${roleName} has the wrong length`);
  }
}

/** `{"hashes":{"sha256","sha512"},"length"}` over exact bytes, as notary-server writes snapshot and timestamp meta. */
export function fileMetaOf(bytes: Uint8Array): {
  hashes: { sha256: string; sha512: string };
  length: number;
} {
  return {
    hashes: { sha256: sha256(bytes).toString('base64'), sha512: sha512(bytes).toString('base64') },
    length: bytes.length,
  };
}
