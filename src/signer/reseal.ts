/**
 * Re-encrypting every sealed server key under a new secret (`countersign keys reseal`,
 * docs/operations.md): passphrase → passphrase, key file → key file, or between the two.
 *
 * The current secret must open the key ring (the check value) and every key; each key is opened
 * and sealed again under the new secret, and the new KDF salt and check value are stored, all in
 * one transaction: either every key moves to the new secret or none does. A key file created for
 * the new secret is removed again when the transaction fails. Every server on the database must
 * be stopped first: a running one keeps the old secret in memory and cannot open resealed keys.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../errors.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { DEFAULT_KEY_FILE, Keyring } from './keyring.js';

export interface ResealOptions {
  readonly storage: Storage;
  /** The secret the keys are sealed under now, as `serve` is configured. */
  readonly current: { passphrase?: string; keyFile?: string; dataDir: string };
  readonly next: { readonly passphrase: string } | { readonly keyFile: string };
  readonly clock: Clock;
}

/** Reseals every key; returns how many. */
export async function resealKeys(o: ResealOptions): Promise<number> {
  const currentFile =
    o.current.passphrase === undefined || o.current.passphrase === ''
      ? resolve(o.current.keyFile ?? `${o.current.dataDir}/${DEFAULT_KEY_FILE}`)
      : undefined;
  if ('keyFile' in o.next && resolve(o.next.keyFile) === currentFile)
    fail('CONFIG_INVALID', `${o.next.keyFile} is the key file the keys are sealed under now`);
  const { keyring: current } = await Keyring.open({
    storage: o.storage,
    ...(o.current.passphrase !== undefined ? { passphrase: o.current.passphrase } : {}),
    ...(o.current.keyFile !== undefined ? { keyFile: o.current.keyFile } : {}),
    dataDir: o.current.dataDir,
    clock: o.clock,
  });
  const next = await Keyring.forNewSecret(o.next, o.clock);
  try {
    return await o.storage.transaction(async (tx) => {
      const keys = await tx.keys.listAll();
      for (const key of keys) {
        const plain = current.open(key.keyId, key.sealedPrivate);
        try {
          await tx.keys.replaceSealed(key.keyId, next.keyring.seal(key.keyId, plain));
        } finally {
          plain.fill(0);
        }
      }
      for (const [name, value] of Object.entries(next.settings)) await tx.settings.put(name, value);
      return keys.length;
    });
  } catch (err) {
    if (next.createdFile !== undefined) rmSync(next.createdFile, { force: true });
    throw err;
  }
}
