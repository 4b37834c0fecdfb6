/**
 * `GET` and `POST …/{snapshot|timestamp}.key` (docs/protocol.md §3.1, §3.2; §10.6): once a root lists
 * a key the server holds for the role, GET returns that key, stably; before that (or when the
 * client holds the role's key) it returns the one pending key, created on first request.
 */
import type { Signer, PublicKeyInfo } from '../signer/types.js';
import type { MetaStore } from '../storage/types.js';
import { loadCurrentRole } from './current.js';
import type { ParsedMetadata } from './parsed.js';

export type ServerRole = 'snapshot' | 'timestamp';

export async function getServerKey(
  meta: MetaStore,
  signer: Signer,
  gun: string,
  role: ServerRole,
  parsed: ParsedMetadata
): Promise<PublicKeyInfo> {
  const rootRow = await loadCurrentRole(meta, gun, 'root', parsed);
  if (rootRow) {
    const root = parsed.root(rootRow).signed;
    const ids = root.roles[role].keyids;
    const held = await signer.held(ids);
    for (const id of ids) {
      const key = root.keys.get(id);
      if (held.has(id) && key) return { keyId: id, keyType: key.keyType, publicB64: key.publicB64 };
    }
  }
  return signer.getOrCreatePending(gun, role);
}

export async function rotateServerKey(
  signer: Signer,
  gun: string,
  role: ServerRole
): Promise<PublicKeyInfo> {
  return signer.rotate(gun, role);
}

/** notary's `.key` body: Go encoding/json of its struct, fields in declared order, no newline. */
export function keyBody(key: PublicKeyInfo): Buffer {
  return Buffer.from(
    `{"keytype":${JSON.stringify(key.keyType)},"keyval":{"public":${JSON.stringify(key.publicB64)},"private":null}}`
  );
}
