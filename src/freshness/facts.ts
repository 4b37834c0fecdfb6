/**
 * What a repository holds right now, as far as expiry is concerned: for each current role (the
 * newest timestamp, the snapshot it names, and every file that snapshot names), its version,
 * `expires`, and whether the server holds enough of its keys to sign it alone. Read without
 * verifying anything and without re-signing anything: status must show an expired repository
 * as expired.
 */
import { loadCurrent, loadCurrentRole } from '../notary/current.js';
import type { ParsedMetadata } from '../notary/parsed.js';
import { hexOf } from '../tuf/checksum.js';
import type { Signer } from '../signer/types.js';
import type { MetaStore } from '../storage/types.js';
import { parseEnvelope, type JsonObject, type Root } from '../tuf/metadata.js';
import { rootCertificateKeys } from '../tuf/root.js';
import { isDelegationName, roleDepth } from '../tuf/names.js';

export interface RoleFacts {
  readonly role: string;
  readonly version: number;
  readonly expires: Date;
  /** `expires` exactly as the metadata writes it. */
  readonly expiresText: string;
  /** Root only: the earliest `notAfter` of the root certificates (clients refuse the root past it). */
  readonly certificatesExpire?: Date;
  /** The server holds private keys for at least the role's threshold. */
  readonly held: boolean;
}

export interface GunFacts {
  readonly gun: string;
  /** Hex sha256 of the current timestamp: the facts change exactly when it does. */
  readonly stateId: string;
  /** timestamp, snapshot, root, targets, then delegations by depth and name. */
  readonly roles: readonly RoleFacts[];
}

/** The moment a role stops being usable: its own expiry, or for a root an earlier certificate expiry. */
export function effectiveExpiry(r: RoleFacts): number {
  const t = r.expires.getTime();
  return r.certificatesExpire ? Math.min(t, r.certificatesExpire.getTime()) : t;
}

/** Facts of `gun`, or null when it has no current timestamp (never published, or deleted). */
export async function readGunFacts(
  meta: MetaStore,
  signer: Signer,
  gun: string,
  parsed: ParsedMetadata
): Promise<GunFacts | null> {
  const state = await loadCurrent(meta, gun, parsed);
  if (!state) return null;
  const roles: RoleFacts[] = [];
  const rootRow = await loadCurrentRole(meta, gun, 'root', parsed, state);
  let root: Root | undefined;
  if (rootRow) {
    try {
      const file = parsed.root(rootRow);
      root = file.signed;
      roles.push({
        ...common('root', file.signedJSON, root.version, root.expires),
        ...certificateExpiry(root, gun),
        held: await holds(signer, root.roles.root),
      });
    } catch {
      // A root this server accepted parses; if it does not, status lists the other roles.
    }
  }
  const ts = state.timestampFile;
  const snap = state.snapshotFile;
  roles.unshift(
    {
      ...common('timestamp', ts.signedJSON, ts.signed.version, ts.signed.expires),
      held: root ? await holds(signer, root.roles.timestamp) : false,
    },
    {
      ...common('snapshot', snap.signedJSON, snap.signed.version, snap.signed.expires),
      held: root ? await holds(signer, root.roles.snapshot) : false,
    }
  );
  // Parents before children, so a delegation's keys are known when it is read.
  const names = [...snap.signed.meta.keys()]
    .filter((n) => n === 'targets' || isDelegationName(n))
    .sort((a, b) => roleDepth(a) - roleDepth(b) || (a < b ? -1 : a > b ? 1 : 0));
  const delegated = new Map<string, { keyids: readonly string[]; threshold: number }>();
  for (const name of names) {
    const hex = hexOf(snap.signed.meta.get(name)?.hashes.sha256);
    const row = hex ? await meta.getByChecksum(gun, name, hex) : null;
    if (!row) continue;
    let env: ReturnType<typeof parseEnvelope>;
    try {
      env = parseEnvelope(row.data);
    } catch {
      continue;
    }
    const keys = name === 'targets' ? root?.roles.targets : delegated.get(name);
    roles.push({
      ...common(name, env.signedJSON, env.version, env.expires),
      held: keys ? await holds(signer, keys) : false,
    });
    for (const d of delegationsOf(env.signedJSON)) delegated.set(d.name, d);
  }
  return { gun, stateId: state.timestamp.sha256, roles };
}

function common(role: string, signed: JsonObject, version: number, expires: Date) {
  return { role, version, expires, expiresText: String(signed.expires) };
}

async function holds(
  signer: Signer,
  keys: { keyids: readonly string[]; threshold: number }
): Promise<boolean> {
  if (keys.keyids.length === 0 || keys.threshold < 1) return false;
  return (await signer.held(keys.keyids)).size >= keys.threshold;
}

function certificateExpiry(root: Root, gun: string): { certificatesExpire?: Date } {
  let earliest: Date | undefined;
  for (const key of rootCertificateKeys(root, gun, new Date(0), false).values()) {
    for (const cert of key.certificates ?? [])
      if (!earliest || cert.notAfter < earliest) earliest = cert.notAfter;
  }
  return earliest ? { certificatesExpire: earliest } : {};
}

/**
 * The delegations a targets file declares (name, key IDs, threshold), read straight from its JSON:
 * the full parse would also build a map of every target, which a large repository does not need here.
 */
function delegationsOf(
  signed: JsonObject
): { name: string; keyids: readonly string[]; threshold: number }[] {
  const d = signed.delegations;
  if (typeof d !== 'object' || d === null) return [];
  const roles = (d as JsonObject).roles;
  if (!Array.isArray(roles)) return [];
  const out: { name: string; keyids: readonly string[]; threshold: number }[] = [];
  for (const r of roles as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const { name, keyids, threshold } = r as JsonObject;
    if (typeof name !== 'string' || !isDelegationName(name)) continue;
    const ids = Array.isArray(keyids)
      ? keyids.filter((k): k is string => typeof k === 'string')
      : [];
    out.push({ name, keyids: ids, threshold: typeof threshold === 'number' ? threshold : 1 });
  }
  return out;
}
