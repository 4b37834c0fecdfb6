/**
 * Where the client reads metadata from (docs/protocol.md §9): the current file of a role, a file by
 * its sha256, a root by version. Sources return the exact bytes or null when the file does not
 * exist; anything else (unreachable server, odd status) is a NETWORK error. `maxBytes` is the
 * most the client will read (docs/protocol.md §8.1): sources that stream stop there, and the client
 * checks the length of whatever it gets in any case.
 */

/** notary's MaxTimestampSize. */
export const MAX_TIMESTAMP_BYTES = 1 << 20;
/** notary's MaxDownloadSize: a root of unknown size. */
export const MAX_ROOT_BYTES = 100 << 20;

export interface MetadataSource {
  /** `<role>.json`: the server's current file of `role`. */
  getCurrent(gun: string, role: string, maxBytes: number): Promise<Buffer | null>;
  /** `<role>.<sha256hex>.json`. */
  getByChecksum(
    gun: string,
    role: string,
    sha256Hex: string,
    maxBytes: number
  ): Promise<Buffer | null>;
  /** `<version>.<role>.json`. */
  getByVersion(
    gun: string,
    role: string,
    version: number,
    maxBytes: number
  ): Promise<Buffer | null>;
}

/** The file names notary serves under `/v2/<gun>/_trust/tuf/` (also used in messages). */
export const metaFileName = {
  current: (role: string): string => `${role}.json`,
  byChecksum: (role: string, sha256Hex: string): string => `${role}.${sha256Hex}.json`,
  byVersion: (role: string, version: number): string => `${version}.${role}.json`,
};
