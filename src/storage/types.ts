/**
 * The storage contract. One set of queries (src/storage/stores.ts) implements it on two engines,
 * SQLite (src/storage/sqlite.ts) and PostgreSQL (src/storage/postgres.ts);
 * test/storage/contract.ts holds the one assertion suite both must pass.
 *
 * Every method is async so PostgreSQL fits the same interface. Rules that hold for every backend:
 * - metadata bytes are stored and returned exactly as given (they are what clients hash);
 * - every version of every role is kept until the GUN is deleted;
 * - per (gun, role), versions strictly increase: a write whose version is not above every stored
 *   version of that role fails with STORAGE_OLD_VERSION and writes nothing;
 * - `transaction` is all-or-nothing and serialized with every other writer (in this process and,
 *   for PostgreSQL, in other instances), and reads outside a transaction never see a transaction
 *   half done.
 */
import type { KeyAlgorithm } from '../crypto/signing.js';
import type { JobStore, WebhookStore } from './work-types.js';

export type MetaRole = string; // 'root' | 'targets' | 'snapshot' | 'timestamp' | 'targets/…'

export interface StoredMeta {
  readonly gun: string;
  readonly role: MetaRole;
  readonly version: number;
  /** Lower-case hex SHA-256 of `data`. */
  readonly sha256: string;
  readonly data: Buffer;
  readonly createdAt: Date;
}

/** `sha256` is computed once by the caller (it needs it for snapshot meta too). */
export type NewMeta = Pick<StoredMeta, 'role' | 'version' | 'sha256' | 'data'>;

export type ChangeCategory = 'update' | 'deletion';

/** A changefeed record (docs/protocol.md §1.4 "Changefeed"): one per timestamp written, one per effective delete. */
export interface Change {
  readonly id: number;
  readonly createdAt: Date;
  readonly gun: string;
  /** The timestamp's version; 0 for a deletion. */
  readonly version: number;
  /** Hex SHA-256 of the timestamp; '' for a deletion. */
  readonly sha256: string;
  readonly category: ChangeCategory;
}

export interface MetaStore {
  /**
   * Writes every file for `gun` at once. Fails with STORAGE_OLD_VERSION (nothing written) if any
   * file's version is not above every stored version of its role, or two files share a role.
   * Appends an 'update' change for every `timestamp` file written.
   */
  updateMany(gun: string, files: readonly NewMeta[], at: Date): Promise<void>;
  /** The highest stored version of a role, or null. */
  getLatest(gun: string, role: MetaRole): Promise<StoredMeta | null>;
  /** The row of that role whose data hashes to `sha256` (lower-case hex), or null. Never another role's. */
  getByChecksum(gun: string, role: MetaRole, sha256: string): Promise<StoredMeta | null>;
  getByVersion(gun: string, role: MetaRole, version: number): Promise<StoredMeta | null>;
  /**
   * Removes every row of exactly this GUN (never of a GUN that merely starts with it). Returns
   * whether anything existed; if so appends one 'deletion' change.
   */
  deleteGun(gun: string, at: Date): Promise<boolean>;
  /**
   * Changefeed page, notary's semantics: `changeId >= 0` and `records > 0` gives ids above
   * changeId ascending; `changeId < 0` gives the newest |records|; `records < 0` pages backwards
   * from changeId. Always returned oldest first. `gun` null means every GUN.
   */
  changes(gun: string | null, changeId: number, records: number): Promise<Change[]>;
  /** GUNs that have a timestamp, in lexical order, optionally under a prefix (expiry scans, status). */
  listGuns(prefix?: string): Promise<string[]>;
  /**
   * Moving in from another server (src/migrate/): stores `file` as version `file.version` of its
   * role with the given creation time, byte for byte, without the version-order rule (history
   * arrives in any order) and without a changefeed record (the history brings its own). Returns
   * 'stored', or 'present' when exactly these bytes already are that version; fails with
   * STORAGE_CONFLICT (nothing written) when other bytes are.
   */
  importVersion(gun: string, file: NewMeta, createdAt: Date): Promise<'stored' | 'present'>;
  /**
   * Appends a changefeed record from another server's history, unless a record with the same
   * GUN, version, sha256, category and creation time exists (then 'present'). Records get new
   * ids in the order they are appended.
   */
  importChange(change: Omit<Change, 'id'>): Promise<'stored' | 'present'>;
}

/** Re-exported for the contract's users; the algorithm is crypto's vocabulary. */
export type { KeyAlgorithm };

/** A server-held private key, encrypted at rest (src/signer/keyring.ts does the encryption). */
export interface StoredKey {
  /** The TUF key ID (hex) of the public key. */
  readonly keyId: string;
  readonly gun: string;
  /** 'snapshot' | 'timestamp' for repositories; 'root' | 'targets' | 'ca' | 'token' for the store's own keys. */
  readonly role: string;
  readonly algorithm: KeyAlgorithm;
  /** The public key as it appears in metadata: keytype and base64 `keyval.public`. */
  readonly keyType: string;
  readonly publicB64: string;
  /** Sealed private key bytes (AES-256-GCM envelope). Never logged, never returned by an API. */
  readonly sealedPrivate: Buffer;
  readonly createdAt: Date;
  /** When it first signed (notary-signer's last_used); null while the key is pending. */
  readonly activatedAt: Date | null;
}

export interface KeyStore {
  /**
   * Inserts `key` as the pending key of (gun, role) unless a pending key already exists; returns
   * whichever key is pending afterwards. Race-free across writers: two concurrent callers get
   * the same key.
   */
  insertPendingIfAbsent(key: StoredKey): Promise<StoredKey>;
  /** Inserts a key unconditionally (rotation, store keys). Fails with STORAGE_CONFLICT on a duplicate key ID. */
  insert(key: StoredKey): Promise<void>;
  get(keyId: string): Promise<StoredKey | null>;
  /** Every key held for (gun, role), oldest first. */
  listFor(gun: string, role: string): Promise<StoredKey[]>;
  /** The pending (never used) key of (gun, role), newest first, or null. */
  getPending(gun: string, role: string): Promise<StoredKey | null>;
  /** Marks a key used (no-op if already). */
  markActive(keyId: string, at: Date): Promise<void>;
  /** Removes every key of a GUN (not used by DELETE, which keeps keys as notary does). */
  deleteFor(gun: string): Promise<void>;
  /** Every stored key, of every GUN and role (`countersign keys reseal`). */
  listAll(): Promise<StoredKey[]>;
  /** Replaces a key's sealed private bytes (re-encrypted under a new secret). STORAGE_NOT_FOUND if absent. */
  replaceSealed(keyId: string, sealedPrivate: Buffer): Promise<void>;
}

/** Small named values the server must share between instances (KDF salt and parameters, CA serials, …). */
export interface SettingsStore {
  get(name: string): Promise<string | null>;
  /** Sets `name` to `value` unless it is set; returns the value now stored (race-free). */
  putIfAbsent(name: string, value: string): Promise<string>;
  put(name: string, value: string): Promise<void>;
}

/** What a transaction can touch; the same stores, bound to one connection. */
export interface StorageTx {
  readonly meta: MetaStore;
  readonly keys: KeyStore;
  readonly settings: SettingsStore;
  readonly submissions: SubmissionStore;
  readonly storeRepositories: StoreRepositoryStore;
  readonly audit: AuditStore;
}

export interface Storage extends StorageTx {
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly loginAttempts: LoginAttemptStore;
  /** The background queues (migration 6, src/storage/work-types.ts). */
  readonly webhooks: WebhookStore;
  readonly jobs: JobStore;
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction, serialized with every other writer; commits if it resolves,
   * rolls back and rethrows if it rejects. `lockGun` names the repository the transaction
   * updates: backends that can lock finer than the whole database (PostgreSQL, with an advisory
   * lock) serialize only transactions on the same GUN; SQLite serializes all writers anyway.
   */
  transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: { lockGun?: string }): Promise<T>;
  /**
   * A number that changes whenever any writer — this process, another process on the same SQLite
   * file, another instance on the same PostgreSQL database — has committed since the last call
   * that returned the same number. Cheap and synchronous: the read path calls it on every request
   * to know whether its in-memory copies may be stale. Call it before reading what you cache: a
   * commit between the call and the read then costs one extra reload, never a stale cache.
   */
  generation(): number;
  /**
   * Undefined when every commit that changed `gun`'s metadata is durable (the usual case: a map
   * lookup). Otherwise a promise that settles once they are: SQLite makes a commit durable after
   * it is visible (docs/design.md "Durability of SQLite commits"), and the metadata read path
   * waits for it, after reading and before answering, so no client ever reads a version that a
   * power cut could take back. PostgreSQL's COMMIT returns durable: always undefined.
   */
  settled(gun: string): Promise<void> | undefined;
  /** Checks the database answers (health endpoint). */
  ping(): Promise<void>;
  /** The schema version the database is at, and the latest this program knows (readiness). */
  schema(): Promise<{ readonly version: number; readonly latest: number }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Accounts and the built-in token service's state (docs/interfaces.md "Accounts"), served from the
// shared database (several instances must see one set of accounts).

export type AccountRole = 'publisher' | 'reviewer' | 'admin';

export interface StoredAccount {
  /** The login name (HTTP Basic user, token `sub`); never contains ':'. */
  readonly name: string;
  readonly role: AccountRole;
  /** GUN prefixes a publisher owns, each ending in '/'; empty for other roles. */
  readonly namespaces: readonly string[];
  /** scrypt hash string from src/auth/passwords.ts; never logged, never returned by an API. */
  readonly passwordHash: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface AccountStore {
  /**
   * Creates the account or replaces role, namespaces and password of the existing one (keeping
   * its createdAt). Returns which of the two happened.
   */
  upsert(account: StoredAccount): Promise<'created' | 'updated'>;
  get(name: string): Promise<StoredAccount | null>;
  /** Every account, by name. */
  list(): Promise<StoredAccount[]>;
  /** Removes the account and its refresh tokens; false when there was none. */
  remove(name: string): Promise<boolean>;
  /** Replaces only the password hash (re-hash at login with stronger parameters). */
  setPasswordHash(name: string, passwordHash: string, at: Date): Promise<void>;
}

/** A refresh token as stored: only its SHA-256 (src/auth/refresh-tokens.ts). */
export interface StoredRefreshToken {
  /** Hex SHA-256 of the token. */
  readonly id: string;
  readonly account: string;
  readonly service: string;
  readonly clientId: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface RefreshTokenStore {
  /** Adds a record; fails with STORAGE_CONFLICT on a duplicate id or STORAGE_NOT_FOUND without the account. */
  save(record: StoredRefreshToken): Promise<void>;
  find(id: string): Promise<StoredRefreshToken | undefined>;
  remove(id: string): Promise<void>;
  /** Removes every record of an account; returns how many. */
  removeForAccount(account: string): Promise<number>;
}

/** How many login attempts a key may have inside a sliding window. */
export interface LoginWindow {
  readonly maxAttempts: number;
  readonly windowMs: number;
}

export type LoginLimits = { readonly perAccount: LoginWindow; readonly perAddress: LoginWindow };

/** A login about to check a password: the account name asked for and the client's address key. */
export interface LoginAttempt {
  readonly account: string;
  /** The client address as limited (src/auth/rate-limit.ts `addressKey`: IPv6 by /64). */
  readonly address: string;
  readonly at: Date;
}

export type LoginReservation =
  | { readonly ok: true; readonly id: number }
  | {
      readonly ok: false;
      readonly limitedBy: 'account' | 'address';
      /** How long until one more attempt fits (ms, at least 1). */
      readonly retryAfterMs: number;
    };

/**
 * Failed-login counters, shared by every worker and instance on the database
 * (docs/auth.md "Login limits"). An attempt is recorded BEFORE its password is checked, in the
 * same serialized step that counts the earlier ones, so concurrent guesses cannot all pass the
 * count; a successful login then removes its own record and its pair's failures.
 */
export interface LoginAttemptStore {
  /**
   * Counts the attempts of (account, address) and of address inside their windows; when both
   * are under their limit, records this attempt and returns its id, otherwise records nothing.
   * Attempts older than the longest window are dropped on the way.
   */
  reserve(attempt: LoginAttempt, limits: LoginLimits): Promise<LoginReservation>;
  /** The password was right: removes the reservation and every attempt of (account, address). */
  succeeded(id: number, account: string, address: string): Promise<void>;
  /** Removes every attempt for this account (user unlock); returns how many. */
  clearAccount(account: string): Promise<number>;
  /** Removes every attempt from this address key; returns how many. */
  clearAddress(address: string): Promise<number>;
  /** Attempts counted now: of an account, or of an address key (tests, unlock output). */
  count(filter: { readonly account?: string; readonly address?: string }): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// The store (docs/design.md "Submission lifecycle"): submissions, the public repositories the store
// created, and the hash-chained audit log. They are part of every transaction (StorageTx),
// because a publish changes metadata, the submission and the audit log in one commit.

export type SubmissionState =
  | 'submitted'
  | 'verified'
  | 'verification_failed'
  | 'approved'
  | 'rejected'
  | 'published'
  | 'revoked';

export interface StoredSubmission {
  /** Opaque and random (src/store/submissions.ts). */
  readonly id: string;
  /** The staging GUN. */
  readonly gun: string;
  readonly publicGun: string;
  readonly tag: string;
  readonly state: SubmissionState;
  /** The account that created it. */
  readonly submitter: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** 1 on insert, +1 on every update: the optimistic-concurrency token of `update`. */
  readonly revision: number;
  /**
   * Everything else (target, staging versions, verification, policy, reviews, publish and
   * revocation records) as a JSON object; src/store/submission.ts gives it its type.
   */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface SubmissionFilter {
  readonly state?: SubmissionState;
  /** The staging GUN, exactly. */
  readonly gun?: string;
  readonly publicGun?: string;
  readonly tag?: string;
  /** At most this many, oldest first (default: all). */
  readonly limit?: number;
}

export type SubmissionChange = Pick<StoredSubmission, 'state' | 'updatedAt' | 'details'>;

export interface SubmissionStore {
  /** Fails with STORAGE_CONFLICT when the id exists. */
  insert(submission: StoredSubmission): Promise<void>;
  get(id: string): Promise<StoredSubmission | null>;
  /** Matching submissions, oldest first (by creation, then id). */
  list(filter?: SubmissionFilter): Promise<StoredSubmission[]>;
  /**
   * Replaces state, updatedAt and details if the stored revision is `expectedRevision`, and
   * returns the record with revision + 1. STORAGE_CONFLICT when the revision moved on,
   * STORAGE_NOT_FOUND when there is no such id.
   */
  update(id: string, expectedRevision: number, change: SubmissionChange): Promise<StoredSubmission>;
}

/** A public repository the store created on first publish, and the server keys it signs with. */
export interface StoreRepository {
  readonly publicGun: string;
  /** The server key behind the root's certificate (its own ID, not the certificate's). */
  readonly rootKeyId: string;
  /** The root key's X.509 certificate (CN = publicGun, issued by the store CA), Go PEM. */
  readonly rootCertificate: string;
  readonly targetsKeyId: string;
  readonly snapshotKeyId: string;
  readonly timestampKeyId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface StoreRepositoryStore {
  /** Inserts `repository` unless one exists for its public GUN; returns whichever is stored after (race-free). */
  insertIfAbsent(repository: StoreRepository): Promise<StoreRepository>;
  get(publicGun: string): Promise<StoreRepository | null>;
  /** Every repository, by public GUN. */
  list(): Promise<StoreRepository[]>;
  /**
   * A renewed root certificate; with `rootKeyId`, for a new root key (a renewal by rotation).
   * STORAGE_NOT_FOUND without the repository.
   */
  setRootCertificate(
    publicGun: string,
    certificatePem: string,
    at: Date,
    rootKeyId?: string
  ): Promise<void>;
}

/** An audit log entry as stored: hash-chained (src/storage/audit-chain.ts). */
export interface AuditEntry {
  /** 1, 2, 3, … in append order. */
  readonly id: number;
  readonly at: Date;
  /** An account name, or `countersign` for the server's own actions. */
  readonly actor: string;
  /** `submission.created`, `key.created`, … (docs/store.md lists them). */
  readonly action: string;
  /** What it is about: a GUN, `GUN:TAG`, or `store-ca`. */
  readonly subject: string;
  /** JSON object (integers only, canonical-JSON encodable). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Hex SHA-256 of the previous entry; 64 zeros for the first. */
  readonly prevHash: string;
  /** Hex SHA-256 over the canonical JSON of {id, at, actor, action, subject, details, prev}. */
  readonly hash: string;
}

export type NewAuditEntry = Pick<AuditEntry, 'at' | 'actor' | 'action' | 'subject' | 'details'>;

export interface AuditFilter {
  /** Entries whose subject is this GUN or `GUN:…`, or whose details name it as gun or publicGun. */
  readonly gun?: string;
  /** Entries at or after this time. */
  readonly since?: Date;
  /** Entries with a larger id (paging). */
  readonly afterId?: number;
  /** At most this many, in id order. */
  readonly limit?: number;
}

export interface AuditStore {
  /**
   * Appends an entry after the newest one, computing id, prevHash and hash; appends are
   * serialized across every writer (instances included), so the chain never forks.
   */
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Entries in id order. */
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}
