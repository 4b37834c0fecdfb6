/**
 * What every step of one client run shares: the source, the one clock reading, the verdicts, and
 * helpers that fetch with the client's size caps and turn a thrown error into a recorded failure
 * (`guard`, `stop`) or a note that lets the walk go on (`record`).
 */
import { CountersignError } from '../errors.js';
import { sha256Hex } from '../crypto/hash.js';
import { KeyVerifiers } from '../crypto/keys.js';
import type { SignedFile } from '../tuf/metadata.js';
import { formatDuration } from '../util/duration.js';
import { Verdicts, type CheckName, type RoleReport } from './report.js';
import { metaFileName, type MetadataSource } from './source.js';

/** Thrown once a fatal failure is recorded: the walk ends there. */
export class StopWalk extends Error {
  constructor() {
    super('verification stopped');
    this.name = 'StopWalk';
  }
}

export type Locator =
  { readonly current: true } | { readonly checksum: string } | { readonly version: number };

export class RunContext {
  readonly roles: RoleReport[] = [];
  /** False once `root.json` answered "not found": the server has no trust data for the GUN. */
  repositoryFound = true;

  readonly source: MetadataSource;
  readonly gun: string;
  readonly now: Date;
  readonly verdicts = new Verdicts();
  /**
   * Imported key material for the run: the root chain rebuilds the same certificate keys for
   * every root version and check, and importing them costs more than verifying.
   */
  readonly verifiers = new KeyVerifiers();
  readonly minValidityMs: number;
  readonly minValidityText: string;
  readonly previousVersions: Readonly<Record<string, number>>;

  constructor(opts: {
    source: MetadataSource;
    gun: string;
    now: Date;
    minValidityMs?: number;
    minValidityText?: string;
    previousVersions?: Readonly<Record<string, number>>;
  }) {
    this.source = opts.source;
    this.gun = opts.gun;
    this.now = opts.now;
    this.minValidityMs = opts.minValidityMs ?? 0;
    this.minValidityText = opts.minValidityText ?? formatDuration(this.minValidityMs);
    this.previousVersions = opts.previousVersions ?? {};
  }

  /** Runs `fn`; a CountersignError becomes a fatal failure of `check` about `role`. */
  guard<T>(check: CheckName, role: string | undefined, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.stop(check, role, err);
    }
  }

  /** Runs `fn`; a CountersignError becomes a failure of `check`, and the walk goes on. Returns whether it passed. */
  record(check: CheckName, role: string | undefined, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      if (!(err instanceof CountersignError)) throw err;
      this.verdicts.fail(check, err.code, withRole(role, err.message), role);
      return false;
    }
  }

  stop(check: CheckName, role: string | undefined, err: unknown): StopWalk {
    if (err instanceof StopWalk) return err;
    if (!(err instanceof CountersignError)) throw err;
    this.verdicts.stop(this.verdicts.fail(check, err.code, withRole(role, err.message), role));
    return new StopWalk();
  }

  /** The exact bytes of a file, at most `maxBytes`; a missing or oversized file, or a network error, stops the walk as a failure of `check`. */
  async fetch(
    role: string,
    where: Locator,
    maxBytes: number,
    check: CheckName,
    notFound?: string
  ): Promise<Buffer> {
    const name =
      'current' in where
        ? metaFileName.current(role)
        : 'checksum' in where
          ? metaFileName.byChecksum(role, where.checksum)
          : metaFileName.byVersion(role, where.version);
    let bytes: Buffer | null;
    try {
      if ('current' in where) bytes = await this.source.getCurrent(this.gun, role, maxBytes);
      else if ('checksum' in where)
        bytes = await this.source.getByChecksum(this.gun, role, where.checksum, maxBytes);
      else bytes = await this.source.getByVersion(this.gun, role, where.version, maxBytes);
    } catch (err) {
      throw this.stop(check, role, err);
    }
    if (bytes === null && role === 'root' && 'current' in where) this.repositoryFound = false;
    if (bytes === null)
      throw this.stop(
        check,
        role,
        new CountersignError('META_NOT_FOUND', notFound ?? `${name} is not on the server`)
      );
    if (bytes.length > maxBytes) {
      throw this.stop(
        check,
        role,
        new CountersignError(
          'META_TOO_LARGE',
          `${name} is ${bytes.length} bytes, more than the ${maxBytes} the client reads`
        )
      );
    }
    return bytes;
  }

  /** Expiry of a loaded role against now (+ the minimum validity asked for); never stops the walk. */
  expiryState(
    role: string,
    expiresAt: Date,
    expiresText: string,
    what = role
  ): RoleReport['state'] {
    const left = expiresAt.getTime() - this.now.getTime();
    if (left < 0) {
      this.verdicts.fail('expiry', 'META_EXPIRED', `${what} expired at ${expiresText}`, role);
      return 'expired';
    }
    if (left < this.minValidityMs) {
      this.verdicts.fail(
        'expiry',
        'META_EXPIRED',
        `${what} expires within ${this.minValidityText} (at ${expiresText})`,
        role
      );
      return 'expiring';
    }
    return 'valid';
  }

  /** A version below the one seen before is a rollback; never stops the walk. */
  rollback(role: string, version: number): void {
    const seen = this.previousVersions[role];
    if (seen !== undefined && version < seen) {
      this.verdicts.fail(
        'rollback',
        'META_VERSION',
        `${role} version ${version} is below version ${seen} seen before`,
        role
      );
    }
  }

  /** Records a loaded role: its expiry, rollback and the report line. */
  loaded(
    role: string,
    file: SignedFile,
    extra: Partial<Pick<RoleReport, 'certificatesExpire'>> = {},
    stateOverride?: RoleReport['state']
  ): RoleReport['state'] {
    const expires = String(file.signedJSON.expires);
    let state = this.expiryState(role, file.signed.expires, expires);
    if (stateOverride === 'expired' || (stateOverride === 'expiring' && state === 'valid'))
      state = stateOverride;
    this.rollback(role, file.signed.version);
    this.roles.push({
      role,
      version: file.signed.version,
      expires,
      expiresAt: file.signed.expires,
      sha256: sha256Hex(file.raw),
      length: file.raw.length,
      state,
      ...extra,
    });
    return state;
  }
}

function withRole(role: string | undefined, message: string): string {
  return role === undefined || message.startsWith(`${role} `) || message.startsWith(`${role}:`)
    ? message
    : `${role}: ${message}`;
}
