/**
 * The TUF client workflow (the notary Go client's update, with verdicts per check): what the store
 * uses to verify producers' staging trust data, and what `countersign check`/`verify` run over HTTP.
 */
export { verifyRepository, type VerifyOptions } from './update.js';
export type { TrustAnchor } from './root-chain.js';
export {
  CHECK_NAMES,
  type Check,
  type CheckName,
  type Failure,
  type ResolvedTarget,
  type RoleReport,
  type VerificationResult,
} from './report.js';
export {
  MAX_ROOT_BYTES,
  MAX_TIMESTAMP_BYTES,
  metaFileName,
  type MetadataSource,
} from './source.js';
export {
  HttpMetadataSource,
  type HttpAuth,
  type HttpSourceOptions,
  type TokenCredentials,
} from './http-source.js';
export { resolveDockerTarget, DOCKER_ROLES, RELEASES_ROLE } from './resolve.js';
export { loadPinnedCas, verifyChain, type ChainVerdict } from './pinning.js';
