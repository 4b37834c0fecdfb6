/**
 * The one catalogue of error codes in Countersign.
 *
 * Domain code throws `CountersignError` with a code from here; only the HTTP layer turns a code
 * into a status and a body (Notary's errcode envelope or the store API's `{"error":…}`), and only
 * the CLI turns one into an exit status. Every code is listed once, with its HTTP status (if it
 * can reach a client) and the fixed message clients see. `test/unit/errors.test.ts` keeps this
 * table and docs/errors.md in step.
 */

/** Codes of notary-server's errcode group `notary.api.v1` (docs/protocol.md §1.3), byte for byte. */
export const NOTARY_CODES = {
  MALFORMED_UPLOAD: { status: 400, message: 'The body of your request is malformed.' },
  NO_FILENAME: { status: 400, message: 'No file/role name provided.' },
  INVALID_ROLE: { status: 400, message: 'The role you are attempting to operate on is invalid.' },
  MALFORMED_JSON: {
    status: 400,
    message: 'JSON sent by the client could not be parsed by the server',
  },
  INVALID_UPDATE: { status: 400, message: 'Update sent by the client is invalid.' },
  VERSION: { status: 400, message: 'A newer version of metadata is already available.' },
  UPDATING: {
    status: 500,
    message: 'An error has occurred while updating the TUF repository.',
  },
  METADATA_NOT_FOUND: { status: 404, message: 'You have requested metadata that does not exist.' },
  GENERIC_NOT_FOUND: { status: 404, message: 'You have requested a resource that does not exist.' },
  INVALID_GUN: {
    status: 400,
    message: 'The server does not support actions on images of this name.',
  },
  INVALID_PARAMETERS: { status: 400, message: 'The parameters provided are not valid.' },
  NO_STORAGE: { status: 500, message: 'The server is misconfigured and has no storage.' },
  NO_CRYPTOSERVICE: {
    status: 500,
    message: 'The server does not have a signing service configured.',
  },
  NO_KEYALGORITHM: {
    status: 500,
    message: 'The server does not have a key algorithm configured.',
  },
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  /** Countersign only: an upload or part over a size cap (the reference has no cap). */
  TOO_LARGE: { status: 413, message: 'The upload exceeds the size this server accepts.' },
  /** Countersign only: the GUN or role in the path is not acceptable (path tricks, length). */
  INVALID_NAME: { status: 400, message: 'The repository or role name is not valid.' },
  /**
   * Countersign only: the database's disk (or quota) is full. Nothing was written; reads go on,
   * and the same request succeeds once space returns (sent with Retry-After).
   */
  STORAGE_FULL: {
    status: 503,
    message: 'The server cannot store anything now: its storage is full. Try again later.',
  },
  /** Countersign only: an upload body arrived slower than the minimum pace (src/http/body-pace.ts). */
  SLOW_BODY: {
    status: 408,
    message: 'The upload arrived too slowly; the server stopped waiting for it.',
  },
  /** Countersign only: the uploads in flight fill the server's upload budget (Retry-After). */
  BUSY: { status: 503, message: 'The server is busy with other uploads; retry later.' },
} as const;

/** What a STORAGE_FULL answer suggests in Retry-After: an operator needs minutes, not seconds. */
export const STORAGE_FULL_RETRY_AFTER_S = 60;

/** Codes of the store API (`/api/v1`, docs/interfaces.md): `{"error":{"code","message"}}`. */
export const STORE_CODES = {
  bad_request: { status: 400, message: 'The request is not valid.' },
  unauthorized: { status: 401, message: 'Authentication is required.' },
  forbidden: { status: 403, message: 'This account may not do that.' },
  not_found: { status: 404, message: 'No such resource.' },
  conflict: { status: 409, message: 'The resource is not in a state that allows this.' },
  policy_failed: { status: 409, message: 'A required policy check fails and is not waived.' },
  too_large: { status: 413, message: 'The request body is too large.' },
  rate_limited: { status: 429, message: 'Too many failed attempts; try again later.' },
  unavailable: { status: 503, message: 'A service this request needs is unavailable.' },
  internal: { status: 500, message: 'Internal error.' },
} as const;

/**
 * Codes that never leave the process as such: the TUF core, storage, configuration and the
 * CLI. Each has a short description; callers attach a specific message.
 */
export const INTERNAL_CODES = {
  // canonical JSON
  CANONICAL_UNSUPPORTED: 'a value canonical JSON cannot encode (non-integer number, …)',
  // JSON from clients and peers (src/canonical/parse.ts)
  JSON_INVALID: 'text that is not valid UTF-8 JSON',
  JSON_TOO_DEEP: 'JSON nested deeper than the server accepts (1,000 levels)',
  // keys and signatures
  KEY_INVALID: 'a public key that cannot be parsed for its keytype',
  KEY_UNSUPPORTED: 'a keytype or signature method that is not supported',
  KEY_ID_MISMATCH: 'a signature names a key whose computed ID differs',
  CERT_INVALID: 'an x509 certificate that fails validation',
  // metadata
  META_SHAPE: 'metadata whose JSON does not have the required shape',
  META_TYPE: 'metadata of another _type than expected',
  META_EXPIRED: 'metadata whose expires is in the past',
  META_VERSION: 'a version that breaks the version rules',
  META_THRESHOLD: 'valid signatures did not meet the threshold',
  META_NO_SIGNATURES: 'metadata with no signatures',
  META_HASH_MISMATCH: 'bytes whose hash or length differs from what the parent metadata promises',
  META_ROLE_UNKNOWN: 'a delegation that does not exist in its parent',
  ROOT_ROTATION: 'a root that is not signed by the previous root threshold',
  META_NOT_FOUND:
    'metadata the client needs is not on the server (no trust data, or a file the parent names)',
  META_TOO_LARGE:
    'a metadata file larger than the client reads (1 MiB timestamp, 100 MiB root, else the length its parent promises)',
  TARGET_NOT_FOUND:
    'no validly signed target of that name where docker looks (targets/releases, then targets)',
  // client trust state and references
  STATE_INVALID: 'a client state file that is corrupt, of another program, or of an unknown format',
  STATE_LOCKED: 'another run held the client state file lock for too long',
  REFERENCE_INVALID: "an image reference docker would refuse (with docker's reason)",
  // storage
  STORAGE_NOT_FOUND: 'no such record',
  STORAGE_OLD_VERSION: 'a version not above every stored version of that role',
  STORAGE_CONFLICT: 'a unique key already exists',
  STORAGE_FAILURE: 'the database failed',
  // server keys
  SIGNER_NO_KEY: 'the server holds no private key for the role',
  SIGNER_DECRYPT: 'a stored private key cannot be decrypted with the configured passphrase',
  // configuration and CLI
  CONFIG_INVALID: 'a configuration value that is not valid',
  USAGE: 'a command line that is not valid',
  REMOTE_SIGNER:
    'trust_service.type "remote": the server keys are in a notary-signer, which Countersign does not use (import them)',
  NOTARY_DATABASE:
    "the database holds notary-server's schema, not Countersign's (import it into a fresh database)",
  NETWORK: 'a peer could not be reached or answered badly',
  // moving in from notary-server (src/migrate/)
  MIGRATE_SOURCE:
    'the source is not a notary deployment, or lacks what was asked for (a table, a GUN, a key)',
  MIGRATE_UNVERIFIED: 'imported metadata that does not verify (hashes, signatures, root chain)',
  // container registries
  REGISTRY_NOT_FOUND: 'the registry has no such repository, manifest or blob (404)',
  REGISTRY_AUTH: 'the registry or its token service refused the credentials or the access',
  REGISTRY_MANIFEST_INVALID: 'a manifest that is not a well-formed image manifest or index',
} as const;

export type NotaryCode = keyof typeof NOTARY_CODES;
export type StoreCode = keyof typeof STORE_CODES;
export type InternalCode = keyof typeof INTERNAL_CODES;
export type ErrorCode = NotaryCode | StoreCode | InternalCode;

/**
 * The names of notary's serializable validation errors (docs/protocol.md §2.10). An INVALID_UPDATE
 * whose detail carries one of these is rebuilt into a typed error by the Go client.
 */
export type ValidationErrorName =
  'ErrValidation' | 'ErrBadHierarchy' | 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot';

/** The `detail` of an INVALID_UPDATE error, exactly as notary serializes it. */
export interface ValidationDetail {
  Name: ValidationErrorName;
  Error: { Msg: string; Missing?: string };
}

/** One access an UNAUTHORIZED answer says was required (docker/distribution's `auth.Access`). */
export interface AccessDetail {
  readonly Type: string;
  readonly Class: string;
  readonly Name: string;
  readonly Action: string;
}

/**
 * What a Notary error may carry as `detail` (docs/protocol.md §1.3): a validation error
 * (INVALID_UPDATE), the required accesses (UNAUTHORIZED), a string (INVALID_ROLE's role name,
 * INVALID_GUN's prefixes, …), or `{}` — what notary sends for a Go error without exported fields.
 */
export type NotaryDetail = ValidationDetail | readonly AccessDetail[] | string | EmptyDetail;
export type EmptyDetail = Readonly<Record<string, never>>;

/**
 * Where a call to a peer (a container registry, its token service) failed: logged and used to
 * decide on retries, never sent to a client.
 */
export interface PeerContext {
  readonly registry: string;
  readonly repository?: string;
  readonly operation: string;
  /** The HTTP status the peer answered, when it answered. */
  readonly status?: number;
  /** The system error code (ECONNREFUSED, …) or TIMEOUT. */
  readonly code?: string;
}

/** What an error carries besides its code and message; each field has one reader. */
export interface ErrorOptions {
  /** Notary's `detail` for the client (the Notary API's error envelope). */
  readonly detail?: NotaryDetail;
  /** Response headers the HTTP edge adds to the error (a challenge, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Where a peer call failed. */
  readonly context?: PeerContext;
  /** The error this one stands for: kept so logs can say why (see `explain`). */
  readonly cause?: unknown;
}

export class CountersignError extends Error {
  readonly code: ErrorCode;
  /** Notary `detail` for the client; absent means none. */
  readonly detail: NotaryDetail | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly context: PeerContext | undefined;

  constructor(code: ErrorCode, message?: string, options?: ErrorOptions) {
    super(
      message ?? defaultMessage(code),
      options?.cause === undefined ? undefined : { cause: options.cause }
    );
    this.name = 'CountersignError';
    this.code = code;
    this.detail = options?.detail;
    this.headers = options?.headers;
    this.context = options?.context;
  }
}

function defaultMessage(code: ErrorCode): string {
  if (code in NOTARY_CODES) return NOTARY_CODES[code as NotaryCode].message;
  if (code in STORE_CODES) return STORE_CODES[code as StoreCode].message;
  return INTERNAL_CODES[code as InternalCode];
}

/**
 * Codes of the catalogue that nothing in src/ raises, and why they stay. `test/unit/errors.test.ts`
 * fails on a code that is neither raised somewhere nor listed here.
 */
export const RESERVED_CODES: Readonly<Partial<Record<ErrorCode, string>>> = {
  GENERIC_NOT_FOUND:
    "notary-server's errcode group has it for non-GET requests on /v2/, which its router never lets through; kept so the group matches notary's",
  NO_STORAGE:
    'notary-server answers it when started without storage; Countersign refuses to start with such a configuration',
  NO_CRYPTOSERVICE:
    'notary-server answers it when started without a signing service; Countersign always has its key ring',
  NO_KEYALGORITHM:
    'notary-server answers it when started without a key algorithm; Countersign defaults to ECDSA and refuses other values at start-up',
};

export function isCountersignError(err: unknown, code?: ErrorCode): err is CountersignError {
  return err instanceof CountersignError && (code === undefined || err.code === code);
}

/**
 * An INVALID_UPDATE carrying one of notary's five validation error names. `cause` is the error
 * that made the update invalid — typically a META_* or CERT_* error of the TUF core — kept so the
 * request log can say which rule refused the upload, not only notary's coarse name.
 */
export function invalidUpdate(
  name: ValidationErrorName,
  msg: string,
  options: { missing?: string; cause?: unknown } = {}
): CountersignError {
  const error: ValidationDetail['Error'] =
    options.missing === undefined ? { Msg: msg } : { Missing: options.missing, Msg: msg };
  return new CountersignError('INVALID_UPDATE', msg, {
    detail: { Name: name, Error: error },
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}

/** Throw a domain error; typed `never` so callers can use it in expressions. */
export function fail(code: ErrorCode, message?: string, options?: ErrorOptions): never {
  throw new CountersignError(code, message, options);
}

/**
 * An error and its causes on one line, each with its code when it has one:
 * `INVALID_UPDATE: valid signatures … ← META_THRESHOLD: valid signatures …`. For logs only:
 * messages of internal errors may name paths or hosts that clients must not see.
 */
export function explain(err: unknown, depth = 5): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < depth && e !== undefined; i++) {
    if (e instanceof CountersignError) parts.push(`${e.code}: ${e.message}`);
    else if (e instanceof Error) parts.push(e.message);
    else parts.push(typeof e === 'string' ? e : (JSON.stringify(e) ?? typeof e));
    e = e instanceof Error ? (e as { cause?: unknown }).cause : undefined;
  }
  return parts.join(' ← ');
}
