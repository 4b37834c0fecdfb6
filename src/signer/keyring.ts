/**
 * At-rest encryption of server-held private keys (docs/design.md "Keys", docs/interfaces.md "Serving").
 *
 * A sealed key is `0x01 ‖ nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)`, with the version byte
 * and the key ID as associated data: a sealed blob copied onto another key's row, or relabelled
 * with another version, fails to open.
 *
 * The key-encryption key (KEK) comes from one of:
 * - a passphrase (COUNTERSIGN_KEY_PASSPHRASE; empty counts as unset), stretched with scrypt. The
 *   salt and parameters live in the database's settings, beside the keys they protect, so every
 *   instance on one database derives the same KEK and a copy of the data dir is not needed;
 * - a key file of 32 random bytes (raw, or 64 hex digits), created with mode 0600 in the data
 *   dir when nothing else is configured; the caller prints the returned warning.
 * A sealed check value in settings makes a wrong passphrase or key file fail at startup with
 * SIGNER_DECRYPT instead of at the first signature.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomBytes,
  scrypt,
  type KeyObject,
  type ScryptOptions,
} from 'node:crypto';
import { fail } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { SettingsStore, Storage } from '../storage/types.js';

/** The key file's name in the data dir when no passphrase or key file is configured. */
export const DEFAULT_KEY_FILE = 'keyring.key';
/** Settings holding the scrypt salt and parameters, and the sealed check value. */
export const KDF_SETTING = 'keyring.kdf';
export const CHECK_SETTING = 'keyring.check';
/** scrypt parameters for new databases (N = 2^15: ~32 MiB and well under a second, once per start). */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;

const VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Not hex, so it can never be a TUF key ID. */
const CHECK_ID = 'countersign keyring check';
const CHECK_PLAINTEXT = Buffer.from('countersign keyring check value v1');

type Source = 'passphrase' | 'key file';

interface KdfRecord {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  created: string;
}

interface CheckRecord {
  source: Source;
  sealed: string;
  created: string;
}

export interface KeyringOptions {
  readonly storage: Pick<Storage, 'kind' | 'settings'>;
  readonly passphrase?: string;
  /** An explicit key file (config); created when absent. */
  readonly keyFile?: string;
  /** Where the default key file lives when neither a passphrase nor a key file is given. */
  readonly dataDir?: string;
  /**
   * Refuse to create a key file: a passphrase or an explicit key file is required. Defaults to
   * true for PostgreSQL, where every instance must decrypt every key (docs/interfaces.md "Serving").
   */
  readonly requireSecret?: boolean;
  readonly clock: Clock;
}

export interface OpenedKeyring {
  readonly keyring: Keyring;
  /** Set when a new key file was created: the operator must back it up. */
  readonly warning?: string;
}

export class Keyring {
  readonly #kek: KeyObject;

  private constructor(kek: KeyObject) {
    this.#kek = kek;
  }

  static async open(options: KeyringOptions): Promise<OpenedKeyring> {
    const { storage, clock } = options;
    const passphrase = options.passphrase === '' ? undefined : options.passphrase;
    if (passphrase !== undefined && options.keyFile !== undefined) {
      fail('CONFIG_INVALID', 'set either COUNTERSIGN_KEY_PASSPHRASE or a key file, not both');
    }
    const check = parseCheck(await storage.settings.get(CHECK_SETTING));

    let kek: KeyObject;
    let source: Source;
    let configured: string;
    let warning: string | undefined;
    if (passphrase !== undefined) {
      source = 'passphrase';
      configured = 'COUNTERSIGN_KEY_PASSPHRASE';
      kek = await passphraseKey(storage.settings, passphrase, clock);
    } else {
      if (options.keyFile === undefined && (options.requireSecret ?? storage.kind === 'postgres')) {
        fail(
          'CONFIG_INVALID',
          'set COUNTERSIGN_KEY_PASSPHRASE or a key file: with PostgreSQL every instance must decrypt every key'
        );
      }
      const path =
        options.keyFile ??
        (options.dataDir !== undefined
          ? join(options.dataDir, DEFAULT_KEY_FILE)
          : fail('CONFIG_INVALID', 'no passphrase, key file or data dir to protect server keys'));
      source = 'key file';
      configured = `the key file ${path}`;
      ({ kek, warning } = keyFileKey(path, check));
    }
    const keyring = new Keyring(kek);
    await keyring.verify(storage.settings, source, configured, clock);
    return warning === undefined ? { keyring } : { keyring, warning };
  }

  /**
   * A key ring under a new secret, for `countersign keys reseal` (src/signer/reseal.ts): a new
   * passphrase gets a fresh salt; a new key file is created when absent (`createdFile`). Returns
   * the settings to store with the resealed keys, in the same transaction.
   */
  static async forNewSecret(
    next: { readonly passphrase: string } | { readonly keyFile: string },
    clock: Clock
  ): Promise<{ keyring: Keyring; settings: Record<string, string>; createdFile?: string }> {
    let kek: KeyObject;
    let source: Source;
    const settings: Record<string, string> = {};
    let createdFile: string | undefined;
    if ('passphrase' in next) {
      if (next.passphrase === '') fail('CONFIG_INVALID', 'the new passphrase is empty');
      const kdf = newKdf(clock);
      kek = await deriveKek(next.passphrase, kdf);
      settings[KDF_SETTING] = JSON.stringify(kdf);
      source = 'passphrase';
    } else {
      if (readKeyFile(next.keyFile) === null && createKeyFile(next.keyFile))
        createdFile = next.keyFile;
      const bytes =
        readKeyFile(next.keyFile) ?? fail('CONFIG_INVALID', `cannot read ${next.keyFile}`);
      kek = createSecretKey(bytes);
      bytes.fill(0);
      source = 'key file';
    }
    const keyring = new Keyring(kek);
    const check: CheckRecord = {
      source,
      sealed: keyring.seal(CHECK_ID, CHECK_PLAINTEXT).toString('base64'),
      created: clock.now().toISOString(),
    };
    settings[CHECK_SETTING] = JSON.stringify(check);
    return createdFile === undefined ? { keyring, settings } : { keyring, settings, createdFile };
  }

  /**
   * Whether this key ring still opens the check record stored in the database (readiness): false
   * when the record is gone or was replaced by one sealed under another key.
   */
  async opensCheck(settings: SettingsStore): Promise<boolean> {
    const text = await settings.get(CHECK_SETTING);
    try {
      const stored = parseCheck(text);
      if (stored === null) return false;
      const opened = this.open(CHECK_ID, Buffer.from(stored.sealed, 'base64'));
      const same = opened.equals(CHECK_PLAINTEXT);
      opened.fill(0);
      return same;
    } catch {
      return false;
    }
  }

  /** Encrypts a private key for the row of `keyId`. */
  seal(keyId: string, plaintext: Uint8Array): Buffer {
    const header = Buffer.from([VERSION]);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#kek, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header, keyId));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, body, cipher.getAuthTag()]);
  }

  /**
   * Decrypts the sealed private key of `keyId`. The caller owns the returned bytes and should
   * zero them (`fill(0)`) as soon as it has signed; `withOpened` does that for it.
   */
  open(keyId: string, sealed: Uint8Array): Buffer {
    const box = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (box.length < 1 + NONCE_BYTES + TAG_BYTES || box[0] !== VERSION) {
      fail(
        'SIGNER_DECRYPT',
        `the sealed private key of ${keyId} is not in a format this version knows`
      );
    }
    const header = box.subarray(0, 1);
    const nonce = box.subarray(1, 1 + NONCE_BYTES);
    const body = box.subarray(1 + NONCE_BYTES, box.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#kek, nonce, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(header, keyId));
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
    // GCM releases plaintext before the tag is checked: wipe it if the check fails.
    const plaintext = decipher.update(body);
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      fail(
        'SIGNER_DECRYPT',
        `the private key of ${keyId} cannot be decrypted with the configured passphrase or key file (or its sealed bytes were altered or moved)`
      );
    }
    return plaintext;
  }

  /** Runs a synchronous `use` with the opened key, then wipes the bytes. */
  withOpened<T>(keyId: string, sealed: Uint8Array, use: (privateKey: Buffer) => T): T {
    const bytes = this.open(keyId, sealed);
    try {
      return use(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** Stores the check value on first start (race-free), and checks this KEK opens it. */
  private async verify(
    settings: SettingsStore,
    source: Source,
    configured: string,
    clock: Clock
  ): Promise<void> {
    const proposed: CheckRecord = {
      source,
      sealed: this.seal(CHECK_ID, CHECK_PLAINTEXT).toString('base64'),
      created: clock.now().toISOString(),
    };
    const stored = parseCheck(await settings.putIfAbsent(CHECK_SETTING, JSON.stringify(proposed)))!;
    let opened: Buffer | null = null;
    try {
      opened = this.open(CHECK_ID, Buffer.from(stored.sealed, 'base64'));
    } catch {
      // A wrong KEK (or a record that is not ours): reported below.
    }
    if (opened === null || !opened.equals(CHECK_PLAINTEXT)) {
      fail(
        'SIGNER_DECRYPT',
        stored.source === source
          ? `${configured} does not decrypt the server keys in this database: wrong ${source}`
          : `the server keys in this database were sealed with a ${describe(stored.source)}, but ${configured} is configured`
      );
    }
  }
}

function describe(source: Source): string {
  return source === 'passphrase' ? 'passphrase (COUNTERSIGN_KEY_PASSPHRASE)' : 'key file';
}

function aad(header: Buffer, keyId: string): Buffer {
  return Buffer.concat([header, Buffer.from(keyId, 'utf8')]);
}

/** scrypt with today's parameters and a fresh salt. */
function newKdf(clock: Clock): KdfRecord {
  return {
    alg: 'scrypt',
    ...SCRYPT_PARAMS,
    salt: randomBytes(16).toString('base64'),
    created: clock.now().toISOString(),
  };
}

/** Derives the KEK with the salt and parameters stored in settings (the first start's win). */
async function passphraseKey(
  settings: SettingsStore,
  passphrase: string,
  clock: Clock
): Promise<KeyObject> {
  const proposed = newKdf(clock);
  const kdf = parseKdf(await settings.putIfAbsent(KDF_SETTING, JSON.stringify(proposed)));
  return deriveKek(passphrase, kdf);
}

async function deriveKek(passphrase: string, kdf: KdfRecord): Promise<KeyObject> {
  const options: ScryptOptions = {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 256 * kdf.N * kdf.r + 2 ** 20,
  };
  // NFC: the same passphrase typed on another system may arrive in another Unicode form.
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(
      passphrase.normalize('NFC'),
      Buffer.from(kdf.salt, 'base64'),
      KEY_BYTES,
      options,
      (err, key) => (err ? reject(err) : resolve(key))
    )
  );
  const kek = createSecretKey(derived);
  derived.fill(0);
  return kek;
}

function parseKdf(text: string): KdfRecord {
  let r: Partial<KdfRecord> | null = null;
  try {
    r = JSON.parse(text) as Partial<KdfRecord>;
  } catch {
    // reported below
  }
  const ok =
    r !== null &&
    r.alg === 'scrypt' &&
    Number.isInteger(r.N) &&
    // Never weaker than the minimum, whatever the database says.
    r.N! >= SCRYPT_PARAMS.N &&
    r.N! <= 2 ** 22 &&
    (r.N! & (r.N! - 1)) === 0 &&
    Number.isInteger(r.r) &&
    r.r! >= 1 &&
    r.r! <= 32 &&
    Number.isInteger(r.p) &&
    r.p! >= 1 &&
    r.p! <= 16 &&
    typeof r.salt === 'string' &&
    Buffer.from(r.salt, 'base64').length >= 16;
  if (!ok) fail('CONFIG_INVALID', `the ${KDF_SETTING} setting in the database is not valid`);
  return r as KdfRecord;
}

function parseCheck(text: string | null): CheckRecord | null {
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as Partial<CheckRecord>;
    if ((r.source === 'passphrase' || r.source === 'key file') && typeof r.sealed === 'string') {
      return r as CheckRecord;
    }
  } catch {
    // reported below
  }
  return fail('CONFIG_INVALID', `the ${CHECK_SETTING} setting in the database is not valid`);
}

/** The KEK from a key file, creating the file for a database that holds no sealed keys yet. */
function keyFileKey(path: string, check: CheckRecord | null): { kek: KeyObject; warning?: string } {
  let warning: string | undefined;
  let bytes = readKeyFile(path);
  if (bytes === null) {
    // A database whose keys are already sealed needs the original KEK; a new file cannot help.
    if (check !== null) {
      fail(
        'SIGNER_DECRYPT',
        `the server keys in this database were sealed with a ${describe(check.source)}, but the key file ${path} does not exist`
      );
    }
    if (createKeyFile(path)) {
      warning = `created the key file ${path}, which encrypts the server's private keys: back it up (without it the keys are lost), or set COUNTERSIGN_KEY_PASSPHRASE instead`;
    }
    bytes =
      readKeyFile(path) ??
      fail('CONFIG_INVALID', `the key file ${path} vanished while being created`);
  }
  const kek = createSecretKey(bytes);
  bytes.fill(0);
  return warning === undefined ? { kek } : { kek, warning };
}

/** The key file's 32 bytes, or null if it does not exist. Refuses a file others can reach. */
function readKeyFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return fail('CONFIG_INVALID', `cannot open the key file ${path}`, { cause: err });
  }
  try {
    // Checked on the open descriptor, so the file cannot be swapped between check and read.
    const st = fstatSync(fd);
    if (!st.isFile()) fail('CONFIG_INVALID', `the key file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      fail(
        'CONFIG_INVALID',
        `the key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`
      );
    }
    const raw = readFileSync(fd);
    if (raw.length === KEY_BYTES) return raw;
    const text = raw.toString('latin1').trim();
    raw.fill(0);
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    return fail(
      'CONFIG_INVALID',
      `the key file ${path} must hold 32 bytes (raw, or as 64 hex digits)`
    );
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes 32 random bytes to `path` with mode 0600 unless it exists. The bytes go to a private
 * temporary file first and are linked into place, so a concurrent starter never reads a
 * half-written file and exactly one creator wins. Returns whether this call created it.
 */
function createKeyFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const bytes = randomBytes(KEY_BYTES);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    bytes.fill(0);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    return fail('CONFIG_INVALID', `cannot create the key file ${path}`, { cause: err });
  } finally {
    unlinkSync(tmp);
  }
}
