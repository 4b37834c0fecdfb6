/**
 * `trust_pinning.ca` (docs/design.md "Verified facts for the store CA"): a root certificate counts only
 * if it chains to a pinned CA the way Go's `x509.Certificate.Verify` with default options decides
 * it — every certificate in the chain valid now, intermediates marked CA, signatures checked with
 * node:crypto's X509Certificate (`checkIssued`, `verify`), and the extended key usage of every
 * certificate in the chain allowing serverAuth (Go's default), so a codeSigning-only leaf — what
 * notary makes — is refused while one without the extension is accepted.
 */
import { fail } from '../errors.js';
import {
  certificateValidAt,
  parseCertificateBundle,
  weakSignatureAlgorithm,
  type Certificate,
} from '../crypto/x509.js';

const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_ANY = '2.5.29.37.0';
/** Go's maxChainSignatureChecks is far larger; real chains are 2–3 certificates. */
const MAX_DEPTH = 8;

/**
 * The CA certificates of a pin file, as notary loads them: every block must be a certificate, and
 * only those valid now, not SHA-1-signed and not RSA under 2048 bits are kept (none left is an error).
 */
export function loadPinnedCas(
  pem: string,
  now: Date,
  source = 'the pinned CA file'
): Certificate[] {
  const certs = parseCertificateBundle(pem);
  if (!certs) fail('CERT_INVALID', `${source} holds no PEM certificates`);
  const usable = certs.filter(
    (c) =>
      certificateValidAt(c, now) &&
      !weakSignatureAlgorithm(c) &&
      !(c.keyAlgorithm === 'rsa' && c.rsaBits < 2048)
  );
  if (usable.length === 0) fail('CERT_INVALID', `${source}: invalid CA certs provided`);
  return usable;
}

export type ChainVerdict =
  | { readonly ok: true; readonly chain: readonly Certificate[] }
  | { readonly ok: false; readonly reason: string };

/** Whether `leaf` chains to one of `roots`, through `intermediates` if needed, as Go would accept it for serverAuth. */
export function verifyChain(
  leaf: Certificate,
  intermediates: readonly Certificate[],
  roots: readonly Certificate[],
  now: Date
): ChainVerdict {
  if (!validNow(leaf, now))
    return { ok: false, reason: 'x509: certificate has expired or is not yet valid' };
  const chains: Certificate[][] = [];
  if (roots.some((r) => r.der.equals(leaf.der))) chains.push([leaf]);
  else build([leaf], intermediates, roots, now, chains);
  if (chains.length === 0)
    return { ok: false, reason: 'x509: certificate signed by unknown authority' };
  const chain = chains.find(allowsServerAuth);
  if (!chain) return { ok: false, reason: 'x509: certificate specifies an incompatible key usage' };
  return { ok: true, chain };
}

function build(
  chain: Certificate[],
  intermediates: readonly Certificate[],
  roots: readonly Certificate[],
  now: Date,
  out: Certificate[][]
): void {
  const current = chain[chain.length - 1] as Certificate;
  for (const root of roots) {
    if (issued(current, root) && validNow(root, now)) out.push([...chain, root]);
  }
  if (chain.length >= MAX_DEPTH) return;
  for (const inter of intermediates) {
    if (chain.some((c) => c.der.equals(inter.der))) continue;
    // Go: an intermediate must be a CA (basicConstraints CA:TRUE) and valid now.
    if (!inter.isCA || !validNow(inter, now) || !issued(current, inter)) continue;
    build([...chain, inter], intermediates, roots, now, out);
  }
}

function issued(child: Certificate, parent: Certificate): boolean {
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Go's Verify checks NotBefore ≤ now ≤ NotAfter with no leeway. */
function validNow(cert: Certificate, now: Date): boolean {
  return cert.notBefore.getTime() <= now.getTime() && now.getTime() <= cert.notAfter.getTime();
}

/** Go's checkChainForKeyUsage for the single requested usage serverAuth. */
function allowsServerAuth(chain: readonly Certificate[]): boolean {
  return chain.every(
    (c) =>
      c.extKeyUsage === undefined ||
      c.extKeyUsage.length === 0 ||
      c.extKeyUsage.includes(EKU_ANY) ||
      c.extKeyUsage.includes(EKU_SERVER_AUTH)
  );
}
