/**
 * Establishing the trusted root (docs/clients.md §1.5, docs/protocol.md §9 "Root rotation"): from a trust
 * anchor — trust on first use of version 1, a pinned root file, or a pinned CA — every root
 * version up to the newest, each signed by its predecessor's root threshold and its own
 * (src/tuf/root.ts validateRoot), versions increasing by exactly one.
 */
import { CountersignError } from '../errors.js';
import type { PublicKey } from '../crypto/keys.js';
import { certificateValidAt } from '../crypto/x509.js';
import { formatExpires } from '../tuf/time.js';
import { parseRoot, type Root, type SignedFile } from '../tuf/metadata.js';
import { rootCertificateKeys, validateRoot } from '../tuf/root.js';
import { verifySignatures } from '../tuf/verify.js';
import type { RunContext } from './context.js';
import { loadPinnedCas, verifyChain } from './pinning.js';
import { MAX_ROOT_BYTES } from './source.js';

export type TrustAnchor =
  /** Trust on first use of `1.root.json`, then follow every rotation. */
  | { readonly kind: 'tofu' }
  /**
   * A root.json the caller trusts (any version); the chain is followed from it. With `caPem`, the
   * newest root must also chain to that CA (a kept root and a `--pin-ca` together).
   */
  | { readonly kind: 'root'; readonly root: Buffer; readonly caPem?: string }
  /** `trust_pinning.ca`: PEM CA bundle the newest root's certificates must chain to. */
  | { readonly kind: 'ca'; readonly pem: string };

export interface TrustedRoot {
  readonly file: SignedFile<Root>;
  /** Versions walked, oldest first. */
  readonly versions: readonly number[];
}

export async function establishRoot(ctx: RunContext, anchor: TrustAnchor): Promise<TrustedRoot> {
  const newestBytes = await fetchNewest(ctx);
  const newest = ctx.guard('root-chain', 'root', () => parseRoot(newestBytes));
  const n = newest.signed.version;
  const shape = (file: SignedFile<Root>, previous?: SignedFile<Root>) =>
    ctx.guard('root-chain', 'root', () =>
      validateRoot(file, {
        gun: ctx.gun,
        now: ctx.now,
        previous,
        checkExpiry: false,
        checkCertExpiry: false,
        verifiers: ctx.verifiers,
      })
    );

  let trusted: SignedFile<Root>;
  let anchorText: string;
  if (anchor.kind === 'root') {
    trusted = ctx.guard('root-chain', 'root', () => parseRoot(anchor.root));
    shape(trusted);
    const p = trusted.signed.version;
    anchorText = `the pinned root (version ${p})`;
    if (n < p)
      throw ctx.stop(
        'rollback',
        'root',
        new CountersignError(
          'META_VERSION',
          `root.json is version ${n}, older than the pinned root's version ${p}`
        )
      );
    if (n === p && !newestBytes.equals(anchor.root)) {
      throw ctx.stop(
        'root-chain',
        'root',
        new CountersignError(
          'ROOT_ROTATION',
          `root.json is version ${n} like the pinned root, but not the same file`
        )
      );
    }
  } else {
    const firstBytes =
      n === 1 ? newestBytes : await ctx.fetch('root', { version: 1 }, MAX_ROOT_BYTES, 'root-chain');
    trusted = ctx.guard('root-chain', 'root', () => parseRoot(firstBytes));
    expectVersion(ctx, trusted, 1);
    shape(trusted);
    anchorText =
      anchor.kind === 'tofu'
        ? 'trust on first use of 1.root.json'
        : '1.root.json, with the newest root chained to the pinned CA';
  }

  const versions = [trusted.signed.version];
  for (let v = trusted.signed.version + 1; v <= n; v++) {
    let file = newest;
    if (v !== n) {
      const bytes = await ctx.fetch('root', { version: v }, MAX_ROOT_BYTES, 'root-chain');
      file = ctx.guard('root-chain', 'root', () => parseRoot(bytes));
    }
    expectVersion(ctx, file, v);
    shape(file, trusted);
    trusted = file;
    versions.push(v);
  }

  const pinnedCa =
    anchor.kind === 'ca' ? anchor.pem : anchor.kind === 'root' ? anchor.caPem : undefined;
  if (pinnedCa !== undefined) checkPinnedCa(ctx, newest, pinnedCa);
  const certs = certificateExpiry(ctx, newest);
  ctx.loaded(
    'root',
    newest,
    certs.earliest ? { certificatesExpire: certs.earliest } : {},
    certs.state
  );
  ctx.verdicts.finish('root-chain');
  ctx.verdicts.pass(
    'root-chain',
    versions.length === 1
      ? `root version ${n} from ${anchorText}, signed by its own root threshold`
      : `root versions ${versions[0]}→${n} from ${anchorText}, each signed by its predecessor's root threshold and its own`
  );
  return { file: newest, versions };
}

function fetchNewest(ctx: RunContext): Promise<Buffer> {
  // notary: a 404 on root means the repository does not exist.
  return ctx.fetch(
    'root',
    { current: true },
    MAX_ROOT_BYTES,
    'root-chain',
    `${ctx.gun} has no trust data on the server (root.json is not there)`
  );
}

function expectVersion(ctx: RunContext, file: SignedFile<Root>, version: number): void {
  if (file.signed.version !== version) {
    throw ctx.stop(
      'root-chain',
      'root',
      new CountersignError(
        'META_VERSION',
        `${version}.root.json holds root version ${file.signed.version}; root versions must increase by exactly one`
      )
    );
  }
}

/** trust_pinning.ca: only root certificates that chain to the CA count, and they must meet the root threshold. */
function checkPinnedCa(ctx: RunContext, root: SignedFile<Root>, pem: string): void {
  const cas = ctx.guard('root-chain', 'root', () => loadPinnedCas(pem, ctx.now));
  const pinned = new Map<string, PublicKey>();
  const refused: string[] = [];
  for (const [id, key] of rootCertificateKeys(root.signed, ctx.gun, ctx.now, false)) {
    const [leaf, ...intermediates] = key.certificates ?? [];
    if (!leaf) continue;
    const verdict = verifyChain(leaf, intermediates, cas, ctx.now);
    if (verdict.ok) pinned.set(id, key);
    else refused.push(`${id.slice(0, 12)}…: ${verdict.reason}`);
  }
  if (pinned.size === 0) {
    const why = refused.length > 0 ? ` (${refused.join('; ')})` : '';
    throw ctx.stop(
      'root-chain',
      'root',
      new CountersignError(
        'CERT_INVALID',
        `unable to match any certificates to trust_pinning config${why}`
      )
    );
  }
  ctx.guard('root-chain', 'root', () => {
    try {
      verifySignatures(
        root,
        { name: 'root', keys: pinned, threshold: root.signed.roles.root.threshold },
        ctx.verifiers
      );
    } catch (cause) {
      throw new CountersignError(
        'ROOT_ROTATION',
        'could not validate the path to a trusted root: the certificates chained to the pinned CA do not meet the root threshold',
        { cause }
      );
    }
  });
}

/**
 * The root certificates in force (the newest root's, CN = GUN): each must be valid now and for
 * the minimum validity asked for. Returns the earliest notAfter and the worst state.
 */
function certificateExpiry(
  ctx: RunContext,
  root: SignedFile<Root>
): { earliest?: string; state: 'valid' | 'expiring' | 'expired' } {
  let earliest: Date | undefined;
  let state: 'valid' | 'expiring' | 'expired' = 'valid';
  for (const [id, key] of rootCertificateKeys(root.signed, ctx.gun, ctx.now, false)) {
    for (const cert of key.certificates ?? []) {
      if (!earliest || cert.notAfter < earliest) earliest = cert.notAfter;
      const what = `root certificate ${id.slice(0, 12)}… (CN ${cert.commonName})`;
      if (!certificateValidAt(cert, ctx.now) && cert.notAfter >= ctx.now) {
        ctx.verdicts.fail(
          'expiry',
          'CERT_INVALID',
          `${what} is not valid before ${formatExpires(cert.notBefore)}`,
          'root'
        );
        state = 'expired';
        continue;
      }
      const s = ctx.expiryState('root', cert.notAfter, formatExpires(cert.notAfter), what);
      if (s === 'expired' || (s === 'expiring' && state === 'valid')) state = s;
    }
  }
  return earliest ? { earliest: formatExpires(earliest), state } : { state };
}
